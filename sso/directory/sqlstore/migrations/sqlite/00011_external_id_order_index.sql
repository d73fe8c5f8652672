-- +goose Up
-- Employees with one externalId are listed in (created_at, id) order on
-- every SCIM create; without the sort columns in the index SQLite's planner
-- chose the company's whole employee list (employees_list_idx) instead.
DROP INDEX employees_external_id_idx;
CREATE INDEX employees_external_id_idx ON employees (company_id, external_id, created_at, id);

-- +goose Down
DROP INDEX employees_external_id_idx;
CREATE INDEX employees_external_id_idx ON employees (company_id, external_id);
