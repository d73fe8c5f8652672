-- +goose Up
-- Reports and pending manager references are listed in (created_at, id)
-- order on every SCIM create and manager PATCH; with the sort columns in the
-- index the planner no longer walks the company's whole employee list.
DROP INDEX employees_manager_id_idx;
DROP INDEX employees_manager_ref_idx;
CREATE INDEX employees_manager_id_idx  ON employees (company_id, manager_id, created_at, id);
CREATE INDEX employees_manager_ref_idx ON employees (company_id, manager_ref, created_at, id);

-- +goose Down
DROP INDEX employees_manager_id_idx;
DROP INDEX employees_manager_ref_idx;
CREATE INDEX employees_manager_id_idx  ON employees (company_id, manager_id);
CREATE INDEX employees_manager_ref_idx ON employees (company_id, manager_ref);
