-- +goose Up
-- Sign-in events older than SSOGATE_SIGNIN_LOG_RETENTION are deleted
-- periodically across every company: this index finds them without a scan.
CREATE INDEX signin_events_at_idx ON signin_events (at);

-- +goose Down
DROP INDEX signin_events_at_idx;
