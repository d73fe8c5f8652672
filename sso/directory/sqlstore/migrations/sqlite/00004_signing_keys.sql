-- +goose Up
-- Keys that sign X-Ssogate-Assertion, shared by every instance. seq is the
-- key's generation: its uniqueness lets exactly one instance add the next
-- key when several race.
CREATE TABLE signing_keys (
    seq         INTEGER PRIMARY KEY CHECK (seq > 0),
    kid         TEXT    NOT NULL,
    alg         TEXT    NOT NULL,
    public_key  BLOB    NOT NULL,
    private_key BLOB    NOT NULL,
    sealing     TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    signs_from  TEXT    NOT NULL,
    CONSTRAINT signing_keys_kid_key UNIQUE (kid)
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
