-- Federation metadata: each company may follow its Entra app's App
-- Federation Metadata URL; certificates record where they came from and,
-- for those from the metadata, since when the metadata no longer lists them.

-- +goose Up
ALTER TABLE companies ADD COLUMN metadata_url TEXT NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN metadata_etag TEXT NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN metadata_last_modified TEXT NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN metadata_checked_at TIMESTAMPTZ;
ALTER TABLE companies ADD COLUMN metadata_ok_at TIMESTAMPTZ;
ALTER TABLE companies ADD COLUMN metadata_outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE companies ADD COLUMN metadata_message TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN source TEXT NOT NULL DEFAULT 'paste' CHECK (source IN ('paste', 'metadata'));
ALTER TABLE certificates ADD COLUMN missing_since TIMESTAMPTZ;

-- +goose Down
ALTER TABLE certificates DROP COLUMN missing_since;
ALTER TABLE certificates DROP COLUMN source;
ALTER TABLE companies DROP COLUMN metadata_message;
ALTER TABLE companies DROP COLUMN metadata_outcome;
ALTER TABLE companies DROP COLUMN metadata_ok_at;
ALTER TABLE companies DROP COLUMN metadata_checked_at;
ALTER TABLE companies DROP COLUMN metadata_last_modified;
ALTER TABLE companies DROP COLUMN metadata_etag;
ALTER TABLE companies DROP COLUMN metadata_url;
