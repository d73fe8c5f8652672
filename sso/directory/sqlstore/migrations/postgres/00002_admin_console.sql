-- The admin console: the Entra Login URL and automatic certificate
-- retirement per company, local passwords of employees detached from
-- Entra, and the reverse lookup of department approvers.

-- +goose Up
ALTER TABLE companies ADD COLUMN idp_login_url TEXT NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN cert_auto_retire_days INTEGER NOT NULL DEFAULT 0 CHECK (cert_auto_retire_days >= 0);

CREATE TABLE employee_passwords (
    company_id    BIGINT      NOT NULL,
    employee_id   TEXT COLLATE "C" NOT NULL,
    password_hash TEXT        NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (company_id, employee_id),
    CONSTRAINT employee_passwords_employee_fkey FOREIGN KEY (company_id, employee_id) REFERENCES employees (company_id, id)
);

CREATE INDEX department_approvers_employee_idx ON department_approvers (company_id, employee_id);

-- +goose Down
DROP INDEX department_approvers_employee_idx;
DROP TABLE employee_passwords;
ALTER TABLE companies DROP COLUMN cert_auto_retire_days;
ALTER TABLE companies DROP COLUMN idp_login_url;
