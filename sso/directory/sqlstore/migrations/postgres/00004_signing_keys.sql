-- +goose Up
-- Keys that sign X-Ssogate-Assertion, shared by every instance. seq is the
-- key's generation: its uniqueness lets exactly one instance add the next
-- key when several race.
CREATE TABLE signing_keys (
    seq         BIGINT      PRIMARY KEY CHECK (seq > 0),
    kid         TEXT        NOT NULL,
    alg         TEXT        NOT NULL,
    public_key  BYTEA       NOT NULL,
    private_key BYTEA       NOT NULL,
    sealing     TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    signs_from  TIMESTAMPTZ NOT NULL,
    CONSTRAINT signing_keys_kid_key UNIQUE (kid)
);

-- +goose Down
DROP TABLE signing_keys;
