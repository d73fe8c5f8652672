// Package throttle is the gateway's one home for rate limits: how events
// are counted per key, when a key is over its limit, and how long its
// client is told to wait. It has three shapes:
//
//   - Limit: at most Max events per key in a fixed window that starts at
//     the key's first event, counted in a shared Counter (the session
//     store's atomic add-and-read), so every instance of a deployment sees
//     one count. Bad SCIM tokens, SCIM and OAuth token requests, password
//     sign-ins per address and per (account, address).
//   - Slowdown: past Free events per key in a window, each further event
//     needs the key's slot, held for a delay that doubles with each such
//     event up to a cap, also in the shared Counter. A guesser spread over
//     many addresses gets one try per delay; nobody is locked out for
//     good. Password sign-ins per account.
//   - Local: a token bucket per key in this process (golang.org/x/time/rate)
//     with a bounded number of keys: for requests that must be limited at
//     no store round trip and while the store is down. With N instances a
//     client gets at most N times the rate.
//
// ClientKey is the one rule for the client a per-client limit applies to
// (an IPv4 address, an IPv6 /64), and Seconds the one rounding of a wait
// into a Retry-After.
//
// It imports nothing of the project and no HTTP: callers build the keys,
// render refusals, and decide what a counting failure means (a sign-in
// answers 503; SCIM lets the request through and logs it).
package throttle

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Counter is the shared counting backend; session.Store implements it.
//
// Count adds delta (which may be negative) to the counter under key,
// atomically: of concurrent callers each sees its own new value. It
// returns the new value and how long the counter lives on. A counter is
// created by its first non-zero delta and expires window later; later
// calls never extend it. delta 0 only reads: (0, 0) for a missing counter,
// which it does not create.
type Counter interface {
	Count(ctx context.Context, key string, delta int64, window time.Duration) (n int64, ttl time.Duration, err error)
}

// MinWait is the shortest wait a refusal asks for.
const MinWait = time.Second

// Limit allows Max events per key in a fixed window of Window from the
// key's first event.
type Limit struct {
	Store  Counter
	Max    int64
	Window time.Duration
}

// Hit counts one event for key. It returns 0 while the key is within Max
// in its window; past it, how long until the window ends (at least
// MinWait). The event is counted either way, so concurrent events each
// see their own number and no burst slips past the limit.
func (l Limit) Hit(ctx context.Context, key string) (wait time.Duration, err error) {
	n, ttl, err := l.Store.Count(ctx, key, 1, l.Window)
	if err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	if n > l.Max {
		return max(ttl, MinWait), nil
	}
	return 0, nil
}

// Undo gives back an event Hit counted (one that turned out to be no
// failure, such as a successful sign-in).
func (l Limit) Undo(ctx context.Context, key string) error {
	if _, _, err := l.Store.Count(ctx, key, -1, l.Window); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// Slowdown lets Free events per key through in a window of Window from the
// key's first event; past them, each event needs the key's slot, held for
// Delay(n) after n events took it in the window: Base, then doubling up to
// Cap. The caller counts with Count and, for an event past the free ones,
// waits for Take (or lets it through when it has reason to).
type Slowdown struct {
	Store  Counter
	Free   int64
	Window time.Duration
	Base   time.Duration
	Cap    time.Duration
}

// Count counts one event for key and reports whether it is past the free
// ones.
func (s Slowdown) Count(ctx context.Context, key string) (slowed bool, err error) {
	n, _, err := s.Store.Count(ctx, key, 1, s.Window)
	if err != nil {
		return false, fmt.Errorf("throttle: %w", err)
	}
	return n > s.Free, nil
}

// Take takes key's slot for one event past the free ones. It returns 0
// when the event has the slot (go ahead); otherwise how long until the
// slot frees (at least MinWait), and the event, which did nothing, is
// given back. The delay follows the events that took the slot, not those
// refused meanwhile, so events racing for the slot all ask for the same
// one.
func (s Slowdown) Take(ctx context.Context, key string) (wait time.Duration, err error) {
	taken, _, err := s.Store.Count(ctx, key+":slowed", 0, s.Window)
	if err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	n, ttl, err := s.Store.Count(ctx, key+":slot", 1, s.Delay(taken))
	if err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	if n > 1 {
		if err := s.Undo(ctx, key); err != nil {
			return 0, err
		}
		return max(ttl, MinWait), nil
	}
	if _, _, err := s.Store.Count(ctx, key+":slowed", 1, s.Window); err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	return 0, nil
}

// Undo gives back an event Count counted.
func (s Slowdown) Undo(ctx context.Context, key string) error {
	if _, _, err := s.Store.Count(ctx, key, -1, s.Window); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// Delay is how long the slot is held after taken events took it in the
// window: Base, doubling with each, up to Cap.
func (s Slowdown) Delay(taken int64) time.Duration {
	d := s.Base
	for i := int64(0); i < taken && d < s.Cap; i++ {
		d *= 2
	}
	return min(d, s.Cap)
}

// Memo remembers keys for TTL from the first Note (later ones do not
// extend it), in the shared Counter.
type Memo struct {
	Store Counter
	TTL   time.Duration
}

// Note remembers key.
func (m Memo) Note(ctx context.Context, key string) error {
	if _, _, err := m.Store.Count(ctx, key, 1, m.TTL); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// Has reports whether key is remembered.
func (m Memo) Has(ctx context.Context, key string) (bool, error) {
	n, _, err := m.Store.Count(ctx, key, 0, m.TTL)
	if err != nil {
		return false, fmt.Errorf("throttle: %w", err)
	}
	return n > 0, nil
}

// ClientKey is the client a per-address limit applies to: the IPv4
// address, or the /64 of an IPv6 one (a single host usually holds a whole
// /64, and rotates through it at will). Anything else is returned as it
// is.
func ClientKey(ip string) string {
	a := net.ParseIP(ip)
	if a == nil {
		return ip
	}
	if a.To4() == nil {
		return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return a.To4().String()
}

// Seconds is a wait as a Retry-After: whole seconds, rounded up, at least
// 1.
func Seconds(wait time.Duration) int {
	return max(1, int((wait+time.Second-1)/time.Second))
}
