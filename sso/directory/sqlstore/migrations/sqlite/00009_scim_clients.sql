-- SCIM with OAuth 2.0 client credentials: per-company clients, their
-- secrets (several valid at once, each with its own expiry; only SHA-256
-- hashes are kept) and the access tokens the token endpoint issued (hashes
-- again, with their expiry). Removing a client removes its secrets, and
-- removing a secret removes the access tokens issued with it.

-- +goose Up
CREATE TABLE scim_clients (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    client_id  TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    CONSTRAINT scim_clients_client_id_key UNIQUE (company_id, client_id)
) STRICT;

CREATE TABLE scim_client_secrets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    client     INTEGER NOT NULL REFERENCES scim_clients (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    last_used  TEXT,
    CONSTRAINT scim_client_secrets_hash_key UNIQUE (hash)
) STRICT;
CREATE INDEX scim_client_secrets_client_idx ON scim_client_secrets (client, created_at);

CREATE TABLE scim_access_tokens (
    hash       BLOB    PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    client     INTEGER NOT NULL REFERENCES scim_clients (id) ON DELETE CASCADE,
    secret     INTEGER NOT NULL REFERENCES scim_client_secrets (id) ON DELETE CASCADE,
    issued_at  TEXT    NOT NULL,
    expires_at TEXT    NOT NULL
) STRICT;
CREATE INDEX scim_access_tokens_expiry_idx ON scim_access_tokens (company_id, expires_at);
CREATE INDEX scim_access_tokens_secret_idx ON scim_access_tokens (secret);
CREATE INDEX scim_access_tokens_client_idx ON scim_access_tokens (client);

-- +goose Down
DROP TABLE scim_access_tokens;
DROP TABLE scim_client_secrets;
DROP TABLE scim_clients;
