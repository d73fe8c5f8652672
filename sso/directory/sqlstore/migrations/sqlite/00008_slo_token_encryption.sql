-- Entra gallery readiness: Single Logout and token encryption per company.
-- slo_enabled: the company takes part in SAML Single Logout with Entra (its
-- Logout Url is honoured, and sign-out continues at Entra). token_encryption:
-- off, optional or required. sp_encryption_keys: the RSA key pairs whose
-- certificates Entra encrypts assertions to (two at once during rollover).

-- +goose Up
ALTER TABLE companies ADD COLUMN slo_enabled INTEGER NOT NULL DEFAULT 0 CHECK (slo_enabled IN (0, 1));
ALTER TABLE companies ADD COLUMN token_encryption TEXT NOT NULL DEFAULT 'off' CHECK (token_encryption IN ('off', 'optional', 'required'));

CREATE TABLE sp_encryption_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id   INTEGER NOT NULL REFERENCES companies (id),
    private_key  BLOB    NOT NULL,
    cert_der     BLOB    NOT NULL,
    sha1         TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    not_after    TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    retired_at   TEXT,
    last_used_at TEXT,
    CONSTRAINT sp_encryption_keys_sha256_key UNIQUE (company_id, sha256)
) STRICT;

CREATE INDEX sp_encryption_keys_company_idx ON sp_encryption_keys (company_id, created_at);

-- +goose Down
DROP INDEX sp_encryption_keys_company_idx;
DROP TABLE sp_encryption_keys;
ALTER TABLE companies DROP COLUMN token_encryption;
ALTER TABLE companies DROP COLUMN slo_enabled;
