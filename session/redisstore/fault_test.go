package redisstore

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ssogate/ssogate/session"
)

// A Redis that is gone, or that accepts connections and never answers,
// costs a call about Options.Timeout and gives an error matching
// session.ErrUnavailable, never a wrong answer such as ErrNotFound.
func TestUnreachableRedisIsUnavailableWithinTheDeadline(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // accept and hold: a stalled server
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goneAddr := gone.Addr().String()
	gone.Close() // nothing listens: connection refused

	const timeout = 200 * time.Millisecond
	for name, addr := range map[string]string{"stalled": silent.Addr().String(), "refused": goneAddr} {
		t.Run(name, func(t *testing.T) {
			if _, err := Open(context.Background(), "redis://"+addr+"/0", Options{Timeout: timeout}); !errors.Is(err, session.ErrUnavailable) {
				t.Fatalf("Open: %v, want session.ErrUnavailable", err)
			}
			tg, err := parseURL("redis://" + addr + "/0")
			if err != nil {
				t.Fatal(err)
			}
			applyDeadlines(tg, timeout)
			s := New(newClient(tg), Options{Timeout: timeout})
			defer s.Close()
			ctx := context.Background()
			calls := map[string]func() error{
				"Get":     func() error { _, err := s.Get(ctx, "0123"); return err },
				"Take":    func() error { _, err := s.Take(ctx, "k"); return err },
				"Consume": func() error { return s.Consume(ctx, "k", time.Now().Add(time.Minute)) },
				"Create": func() error {
					return s.Create(ctx, &session.Session{ID: "x", EmployeeID: "e", CompanyID: 1, ExpiresAt: time.Now().Add(time.Hour), LastSeen: time.Now()})
				},
				"Count": func() error { _, _, err := s.Count(ctx, "k", 1, time.Minute); return err },
			}
			for call, fn := range calls {
				start := time.Now()
				err := fn()
				took := time.Since(start)
				if !errors.Is(err, session.ErrUnavailable) || errors.Is(err, session.ErrNotFound) {
					t.Errorf("%s: %v, want session.ErrUnavailable", call, err)
				}
				if took > timeout+150*time.Millisecond {
					t.Errorf("%s took %s (deadline %s)", call, took, timeout)
				}
			}
		})
	}
}
