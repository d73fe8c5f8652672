package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssogate/ssogate/session"
)

// Deadlines. A stalled or unreachable Redis must cost a request a bounded,
// short time, and then an error that says "unavailable", not a wrong
// answer. Every command (or pipeline) the store sends runs under a deadline
// of Options.Timeout that covers waiting for a pooled connection, dialling,
// writing, reading and the client's retries; the client is built with
// ContextTimeoutEnabled so that deadline reaches the socket.
const (
	// DefaultTimeout is Options.Timeout when it is zero.
	DefaultTimeout = 500 * time.Millisecond
	// DefaultMaxRetries is how often Open's client retries a command that
	// failed on the network (a pooled connection the server closed, a
	// failover), within the deadline, unless the URL says max_retries.
	DefaultMaxRetries = 1
)

// applyDeadlines fills in the client settings a URL left unset: socket
// timeouts and the pool wait equal to the per-call deadline, bounded
// retries, one dial attempt per try; and it turns on context deadlines.
func applyDeadlines(t target, timeout time.Duration) {
	switch {
	case t.single != nil:
		o := t.single
		fillDeadlines(timeout, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries, &o.DialerRetries, &o.ContextTimeoutEnabled)
	case t.failover != nil:
		o := t.failover
		fillDeadlines(timeout, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries, &o.DialerRetries, &o.ContextTimeoutEnabled)
	case t.cluster != nil:
		o := t.cluster
		fillDeadlines(timeout, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.MaxRetries, &o.DialerRetries, &o.ContextTimeoutEnabled)
	}
}

func fillDeadlines(timeout time.Duration, dial, read, write, pool *time.Duration, retries, dialerRetries *int, contextTimeout *bool) {
	for _, d := range []*time.Duration{dial, read, write, pool} {
		if *d == 0 {
			*d = timeout
		}
	}
	if *retries == 0 {
		*retries = DefaultMaxRetries
	}
	if *dialerRetries == 0 {
		*dialerRetries = 1
	}
	*contextTimeout = true
}

// outageHook bounds every command and pipeline by the store's deadline and
// marks the errors that mean "no answer" with session.ErrUnavailable, on
// the command itself too (callers read cmd.Result()).
type outageHook struct{ timeout time.Duration }

var _ redis.Hook = outageHook{}

func (h outageHook) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if h.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, h.timeout)
}

func (h outageHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h outageHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, cancel := h.bound(ctx)
		defer cancel()
		err := next(ctx, cmd)
		if c := classify(cmd.Err()); c != cmd.Err() {
			cmd.SetErr(c)
		}
		return classify(err)
	}
}

func (h outageHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, cancel := h.bound(ctx)
		defer cancel()
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			if c := classify(cmd.Err()); c != cmd.Err() {
				cmd.SetErr(c)
			}
		}
		return classify(err)
	}
}

// classify wraps an error that means Redis gave no answer with
// session.ErrUnavailable; answers (redis.Nil, a script's error, a wrong
// type) pass unchanged.
func classify(err error) error {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, session.ErrUnavailable) || !unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", session.ErrUnavailable, err)
}

func unavailable(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted), errors.Is(err, redis.ErrClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ne):
		return true
	case redis.IsLoadingError(err), redis.IsReadOnlyError(err), redis.IsClusterDownError(err), redis.IsTryAgainError(err),
		redis.IsMasterDownError(err), redis.IsMaxClientsError(err), redis.IsNoReplicasError(err), redis.IsOOMError(err):
		return true
	}
	return strings.HasPrefix(err.Error(), "BUSY ")
}

// SetLogger sends go-redis's own messages (a failed dial, a pool or
// failover event) to l at warn level, instead of to stderr in go-redis's
// format. go-redis has one logger per process; so does this.
func SetLogger(l *slog.Logger) { redis.SetLogger(redisLog{l}) }

type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
