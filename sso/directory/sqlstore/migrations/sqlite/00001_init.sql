-- The directory schema for SQLite. Times are TEXT in one fixed-width UTC
-- form (2006-01-02T15:04:05.000000Z) so they sort as text; booleans are
-- INTEGER 0/1. *_norm columns hold keys folded in Go (see sqlstore.Fold).
-- Constraint and index names match the PostgreSQL schema. A unique
-- violation is mapped to a field by its index name on PostgreSQL and by
-- its column list on SQLite (which reports columns, not names).

-- +goose Up
CREATE TABLE companies (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    slug             TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    sso_enabled      INTEGER NOT NULL,
    nameid_mode      TEXT    NOT NULL CHECK (nameid_mode IN ('upn', 'mail')),
    entra_identifier TEXT    NOT NULL,
    pinned_issuer    TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    CONSTRAINT companies_slug_key UNIQUE (slug)
) STRICT;

CREATE TABLE certificates (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id   INTEGER NOT NULL REFERENCES companies (id),
    der          BLOB    NOT NULL,
    subject      TEXT    NOT NULL,
    sha1         TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    not_before   TEXT    NOT NULL,
    not_after    TEXT    NOT NULL,
    added_at     TEXT    NOT NULL,
    retired_at   TEXT,
    last_used_at TEXT,
    use_count    INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT certificates_sha256_key UNIQUE (company_id, sha256)
) STRICT;

CREATE TABLE employees (
    id                     TEXT    NOT NULL PRIMARY KEY,
    company_id             INTEGER NOT NULL REFERENCES companies (id),
    user_name              TEXT    NOT NULL,
    username_norm          TEXT,
    email                  TEXT    NOT NULL,
    email_norm             TEXT,
    given_name             TEXT    NOT NULL,
    family_name            TEXT    NOT NULL,
    display_name           TEXT    NOT NULL,
    external_id            TEXT    NOT NULL,
    entra_object_id        TEXT,
    title                  TEXT    NOT NULL,
    department             TEXT    NOT NULL,
    manager_id             TEXT,
    manager_ref            TEXT    NOT NULL,
    mobile_phone           TEXT    NOT NULL,
    work_phone             TEXT    NOT NULL,
    country                TEXT    NOT NULL,
    date_of_employment     TEXT    NOT NULL,
    payroll_number         TEXT    NOT NULL,
    employee_number        TEXT    NOT NULL,
    group_company_name     TEXT    NOT NULL,
    active                 INTEGER NOT NULL,
    termination_date       TEXT    NOT NULL,
    deleted_at             TEXT,
    source                 TEXT    NOT NULL CHECK (source IN ('import', 'scim', 'local')),
    entra_linked           INTEGER NOT NULL,
    is_admin               INTEGER NOT NULL,
    is_approver            INTEGER NOT NULL,
    self_approver          INTEGER NOT NULL,
    only_selected_approver INTEGER NOT NULL,
    scim_extra             BLOB,
    search_norm            TEXT    NOT NULL,
    version                INTEGER NOT NULL,
    created_at             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL,
    CONSTRAINT employees_company_id_key UNIQUE (company_id, id),
    CONSTRAINT employees_manager_fkey FOREIGN KEY (company_id, manager_id) REFERENCES employees (company_id, id),
    CONSTRAINT employees_manager_not_self CHECK (manager_id IS NULL OR manager_id <> id)
) STRICT;

CREATE UNIQUE INDEX employees_username_key  ON employees (username_norm, company_id)   WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX employees_email_key     ON employees (email_norm, company_id)      WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX employees_object_id_key ON employees (entra_object_id, company_id) WHERE entra_object_id IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX employees_external_id_idx ON employees (company_id, external_id);
CREATE INDEX employees_manager_id_idx  ON employees (company_id, manager_id);
CREATE INDEX employees_manager_ref_idx ON employees (company_id, manager_ref);
CREATE INDEX employees_list_idx        ON employees (company_id, created_at, id);

CREATE TABLE department_approvers (
    company_id      INTEGER NOT NULL,
    department_norm TEXT    NOT NULL,
    department      TEXT    NOT NULL,
    employee_id     TEXT    NOT NULL,
    added_at        TEXT    NOT NULL,
    PRIMARY KEY (company_id, department_norm, employee_id),
    CONSTRAINT department_approvers_employee_fkey FOREIGN KEY (company_id, employee_id) REFERENCES employees (company_id, id)
) STRICT;

CREATE TABLE scim_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    hash       BLOB    NOT NULL,
    label      TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    last_used  TEXT,
    revoked_at TEXT,
    CONSTRAINT scim_tokens_hash_key UNIQUE (hash)
) STRICT;
CREATE INDEX scim_tokens_company_idx ON scim_tokens (company_id, created_at);

CREATE TABLE admins (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id    INTEGER NOT NULL REFERENCES companies (id),
    email         TEXT    NOT NULL,
    email_norm    TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    employee_id   TEXT,
    created_at    TEXT    NOT NULL,
    CONSTRAINT admins_email_key UNIQUE (company_id, email_norm),
    CONSTRAINT admins_employee_fkey FOREIGN KEY (company_id, employee_id) REFERENCES employees (company_id, id)
) STRICT;

CREATE TABLE oauth_clients (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id    INTEGER NOT NULL REFERENCES companies (id),
    client_id     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    redirect_uris TEXT    NOT NULL, -- JSON array of strings
    created_at    TEXT    NOT NULL,
    CONSTRAINT oauth_clients_client_id_key UNIQUE (company_id, client_id)
) STRICT;

CREATE TABLE signin_events (
    id          INTEGER PRIMARY KEY,
    company_id  INTEGER NOT NULL REFERENCES companies (id),
    at          TEXT    NOT NULL,
    success     INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    name_id     TEXT    NOT NULL,
    employee_id TEXT    NOT NULL,
    cert_sha256 TEXT    NOT NULL,
    remote_ip   TEXT    NOT NULL
) STRICT;
CREATE INDEX signin_events_company_at_idx ON signin_events (company_id, at);

CREATE TABLE provisioning_log (
    id          INTEGER PRIMARY KEY,
    company_id  INTEGER NOT NULL REFERENCES companies (id),
    at          TEXT    NOT NULL,
    operation   TEXT    NOT NULL,
    employee_id TEXT    NOT NULL,
    user_name   TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    change      TEXT    NOT NULL
) STRICT;
CREATE INDEX provisioning_log_company_at_idx ON provisioning_log (company_id, at);
CREATE INDEX provisioning_log_employee_idx   ON provisioning_log (company_id, employee_id, at);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER REFERENCES companies (id), -- NULL: deployment-wide (CompanyID 0)
    at         TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    detail     TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_log_company_at_idx ON audit_log (company_id, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE provisioning_log;
DROP TABLE signin_events;
DROP TABLE oauth_clients;
DROP TABLE admins;
DROP TABLE scim_tokens;
DROP TABLE department_approvers;
DROP TABLE employees;
DROP TABLE certificates;
DROP TABLE companies;
