package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/session"
)

// Password sign-in throttling (the console's break-glass admins and the
// employees detached from Entra).
//
// Every attempt is counted in the session store BEFORE its password is
// checked, with one atomic add-and-read (session.Store.Count: a Lua script
// on Redis, a mutex in memstore), so concurrent attempts each see their own
// number and no burst slips past a limit. A successful sign-in is not a
// failure: its counts are given back. Three counters, all over
// loginWindow from their first attempt:
//
//   - per (account, address): loginPairLimit attempts, then that address is
//     refused for that account until the window ends. An attacker locks
//     only themselves out, never the admin at their own address;
//   - per address, all accounts: loginIPLimit attempts (password spraying);
//   - per account, all addresses: after loginAccountFree attempts the
//     account is not locked but slowed: each further check needs a slot
//     (Consume, SET NX) that frees after a delay doubling from 1 s up to
//     loginAccountMaxDelay with each such check. A distributed guesser gets at most one check
//     per delay; the admin is never locked out for good. An address that
//     signed in to the account successfully within knownAddressTTL skips
//     the slowdown (still bound by its own per-address limits), so an
//     admin at their usual address is not slowed by someone else's attack.
//
// Account names are hashed into the keys (the store holds no emails), and
// an unknown account is counted exactly like a known one.
//
// Behind a reverse proxy without SSOGATE_TRUST_PROXY_HEADERS every client
// has the proxy's address: the per-address limits then apply to everyone
// at once.

const (
	loginWindow          = 15 * time.Minute
	loginPairLimit       = 5
	loginIPLimit         = 20
	loginAccountFree     = 10
	loginAccountMaxDelay = 30 * time.Second
	knownAddressTTL      = 30 * 24 * time.Hour
	// busyRetry is the Retry-After of a sign-in refused because the
	// password checks are all in use.
	busyRetry = time.Second
)

var errBusy = "Too many sign-ins are being checked right now. Wait a few seconds, then try again."

// loginThrottle is one password attempt's counters.
type loginThrottle struct {
	st                          session.Store
	now                         func() time.Time
	ip, pair, acct, known, slot string
	slowed                      string
	admitted                    bool
}

func (s *Server) loginThrottle(kind string, companyID int64, name, ip string) *loginThrottle {
	acct := "throttle:" + kind + ":" + strconv.FormatInt(companyID, 10) + ":" + session.Key(strings.ToLower(strings.TrimSpace(name)))
	return &loginThrottle{st: s.sessions, now: s.now,
		ip: "throttle:" + kind + ":ip:" + ip, pair: acct + ":ip:" + ip, acct: acct,
		known: acct + ":known:" + ip, slot: acct + ":slot", slowed: acct + ":slowed"}
}

// admit counts the attempt and reports how long the client must wait
// (0: check the password now).
func (t *loginThrottle) admit(ctx context.Context) (time.Duration, error) {
	for _, l := range []struct {
		key   string
		limit int64
	}{{t.ip, loginIPLimit}, {t.pair, loginPairLimit}} {
		n, ttl, err := t.st.Count(ctx, l.key, 1, loginWindow)
		if err != nil {
			return 0, fmt.Errorf("throttle: %w", err)
		}
		if n > l.limit {
			return max(ttl, time.Second), nil
		}
	}
	n, _, err := t.st.Count(ctx, t.acct, 1, loginWindow)
	if err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	if n > loginAccountFree {
		known, _, err := t.st.Count(ctx, t.known, 0, knownAddressTTL)
		if err != nil {
			return 0, fmt.Errorf("throttle: %w", err)
		}
		if known <= 0 {
			// The delay follows the slowed checks that ran (not the
			// attempts refused meanwhile), so attempts racing for the
			// slot all ask for the same delay.
			slowed, _, err := t.st.Count(ctx, t.slowed, 0, loginWindow)
			if err != nil {
				return 0, fmt.Errorf("throttle: %w", err)
			}
			delay := accountDelay(slowed)
			err = t.st.Consume(ctx, t.slot, t.now().Add(delay))
			if errors.Is(err, session.ErrReplayed) {
				// Another check holds the slot: this attempt is refused
				// and, as it checks nothing, not counted for the account.
				if _, _, err := t.st.Count(ctx, t.acct, -1, loginWindow); err != nil {
					return 0, fmt.Errorf("throttle: %w", err)
				}
				return delay, nil
			}
			if err != nil {
				return 0, fmt.Errorf("throttle: %w", err)
			}
			if _, _, err := t.st.Count(ctx, t.slowed, 1, loginWindow); err != nil {
				return 0, fmt.Errorf("throttle: %w", err)
			}
		}
	}
	t.admitted = true
	return 0, nil
}

// accountDelay is the slot an account's check holds once its free
// attempts are used, after slowed such checks in the window: 1 s, then
// doubling up to loginAccountMaxDelay.
func accountDelay(slowed int64) time.Duration {
	return min(time.Second<<min(max(slowed, 0), 16), loginAccountMaxDelay)
}

// succeeded gives the attempt's counts back and remembers the address as
// one this account signs in from.
func (t *loginThrottle) succeeded(ctx context.Context) error {
	keys := []string{t.ip, t.pair}
	if t.admitted {
		keys = append(keys, t.acct)
	}
	for _, k := range keys {
		if _, _, err := t.st.Count(ctx, k, -1, loginWindow); err != nil {
			return fmt.Errorf("throttle: %w", err)
		}
	}
	if _, _, err := t.st.Count(ctx, t.known, 1, knownAddressTTL); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// lockedMessage tells the user how long to wait.
func lockedMessage(wait time.Duration) string {
	when := "a minute"
	switch {
	case wait <= 90*time.Second:
		when = strconv.Itoa(int((wait+time.Second-1)/time.Second)) + " seconds"
	default:
		when = strconv.Itoa(int((wait+time.Minute-1)/time.Minute)) + " minutes"
	}
	return "Too many failed sign-ins for this account or from this network. Try again in " + when + "."
}

// setRetryAfter sets the Retry-After header in whole seconds (at least 1).
func setRetryAfter(c echo.Context, wait time.Duration) {
	c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
}

// verifyPassword checks pw against an encoded hash within the bound on
// concurrent hashes; password.ErrBusy when it is reached. Every call is
// counted in ssogate_password_checks_total.
func (s *Server) verifyPassword(encoded, pw string) error {
	err := s.hashes.Verify(encoded, pw)
	outcome := "match"
	switch {
	case errors.Is(err, password.ErrBusy):
		outcome = "busy"
	case errors.Is(err, password.ErrMismatch):
		outcome = "mismatch"
	case err != nil:
		outcome = "error"
	}
	s.metrics.passwordChecks.WithLabelValues(outcome).Inc()
	return err
}

// hashPassword hashes a new password within the same bound.
func (s *Server) hashPassword(pw string) (string, error) {
	h, err := s.hashes.Hash(pw)
	if errors.Is(err, password.ErrBusy) {
		s.metrics.passwordChecks.WithLabelValues("busy").Inc()
	} else if err == nil {
		s.metrics.passwordChecks.WithLabelValues("hashed").Inc()
	}
	return h, err
}

// busyStatus is how a sign-in refused for want of a free password check
// is answered.
const busyStatus = http.StatusServiceUnavailable
