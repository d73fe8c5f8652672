package web

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/internal/throttle"
	"github.com/ssogate/ssogate/session"
)

// Password sign-in throttling (the console's break-glass admins and the
// employees detached from Entra), over internal/throttle.
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
//     account is not locked but slowed (throttle.Slowdown): each further
//     check needs the account's slot, held for a delay doubling from 1 s
//     up to loginAccountMaxDelay with each such check. A distributed
//     guesser gets at most one check per delay; the admin is never locked
//     out for good. An address that signed in to the account successfully
//     within knownAddressTTL skips the slowdown (still bound by its own
//     per-address limits), so an admin at their usual address is not
//     slowed by someone else's attack.
//
// An address is throttle.ClientKey's: an IPv4 address or an IPv6 /64 (a
// host rotating through its /64 is one address). The account is the
// employee the typed name resolves to, so a userName and an email of one
// employee share one budget; a name that resolves to no one is counted
// under its (hashed) name exactly like an account, and admins under their
// (hashed) email. The store holds no emails or names.
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
)

// loginThrottle is one password attempt's counters. admitAddress counts it
// for its address (before the account is looked up), admitAccount for the
// account (before the password is checked).
type loginThrottle struct {
	perIP, perPair throttle.Limit
	account        throttle.Slowdown
	known          throttle.Memo

	prefix, ip, addr string // addr: the client key
	pair, acct       string // set by admitAccount
	admitted         bool
}

func (s *Server) loginThrottle(kind string, companyID int64, ip string) *loginThrottle {
	addr := throttle.ClientKey(ip)
	return &loginThrottle{
		perIP:   throttle.Limit{Store: s.sessions, Max: loginIPLimit, Window: loginWindow},
		perPair: throttle.Limit{Store: s.sessions, Max: loginPairLimit, Window: loginWindow},
		account: throttle.Slowdown{Store: s.sessions, Free: loginAccountFree, Window: loginWindow,
			Base: time.Second, Cap: loginAccountMaxDelay},
		known:  throttle.Memo{Store: s.sessions, TTL: knownAddressTTL},
		prefix: "throttle:" + kind + ":" + strconv.FormatInt(companyID, 10) + ":", ip: "throttle:" + kind + ":ip:" + addr, addr: addr,
	}
}

// nameAccount is the account key of a typed name (an admin's email, or a
// name no employee has).
func nameAccount(name string) string {
	return session.Key(strings.ToLower(strings.TrimSpace(name)))
}

// employeeAccount is the account key of an employee.
func employeeAccount(id string) string { return "e:" + id }

// admitAddress counts the attempt for its address and reports how long the
// client must wait (0: go on).
func (t *loginThrottle) admitAddress(ctx context.Context) (time.Duration, error) {
	return t.perIP.Hit(ctx, t.ip)
}

// admitAccount counts the attempt for account (nameAccount or
// employeeAccount) and reports how long the client must wait (0: check the
// password now).
func (t *loginThrottle) admitAccount(ctx context.Context, account string) (time.Duration, error) {
	t.acct = t.prefix + account
	t.pair = t.acct + ":ip:" + t.addr
	if wait, err := t.perPair.Hit(ctx, t.pair); err != nil || wait > 0 {
		return wait, err
	}
	slowed, err := t.account.Count(ctx, t.acct)
	if err != nil {
		return 0, err
	}
	if slowed {
		known, err := t.known.Has(ctx, t.acct+":known:"+t.addr)
		if err != nil {
			return 0, err
		}
		if !known {
			if wait, err := t.account.Take(ctx, t.acct); err != nil || wait > 0 {
				return wait, err
			}
		}
	}
	t.admitted = true
	return 0, nil
}

// succeeded gives the attempt's counts back and remembers the address as
// one this account signs in from.
func (t *loginThrottle) succeeded(ctx context.Context) error {
	if err := t.perIP.Undo(ctx, t.ip); err != nil {
		return err
	}
	if err := t.perPair.Undo(ctx, t.pair); err != nil {
		return err
	}
	if t.admitted {
		if err := t.account.Undo(ctx, t.acct); err != nil {
			return err
		}
	}
	return t.known.Note(ctx, t.acct+":known:"+t.addr)
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
