package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Readiness and shutdown. A load balancer probes /readyz; on SIGTERM the
// process first calls Drain (the probe fails while requests are still
// served, so the balancer stops sending new ones), then stops accepting and
// finishes what is in flight, then Close writes the sign-in records still
// queued.

// Drain makes /readyz answer 503 from now on. Every other route is served
// as before.
func (s *Server) Drain() {
	if !s.draining.Swap(true) {
		s.log.Info("draining: /readyz answers 503 from now on")
	}
}

// Close waits until the sign-in records already queued are written (those
// of requests whose client gave up included), or ctx ends. Call it after
// the HTTP server stopped; the stores are the caller's to close.
func (s *Server) Close(ctx context.Context) error {
	return s.logins.b.Wait(ctx)
}

// readyz checks both stores at once and answers within ReadyTimeout: 200
// when both answered, 503 naming the one that failed or did not answer in
// time, and 503 while draining.
func (s *Server) readyz(c echo.Context) error {
	if s.draining.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	}
	limit := s.cfg.ReadyTimeout
	if limit <= 0 {
		limit = time.Second
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), limit)
	defer cancel()
	type check struct {
		name string
		err  error
	}
	done := make(chan check, 2) // buffered: a check that outlives the limit does not block
	go func() { done <- check{"database", s.dir.Ping(ctx)} }()
	go func() { done <- check{"sessions", s.sessions.Ping(ctx)} }()
	out := map[string]string{"database": "timeout", "sessions": "timeout"}
wait:
	for range 2 {
		select {
		case r := <-done:
			out[r.name] = "ok"
			if r.err != nil {
				out[r.name] = "unreachable"
				s.log.LogAttrs(ctx, slog.LevelWarn, "readyz: store unreachable", slog.String("store", r.name), slog.Any("err", r.err))
			}
		case <-ctx.Done():
			break wait
		}
	}
	status := http.StatusOK
	for name, v := range out {
		if v != "ok" {
			status = http.StatusServiceUnavailable
			if v == "timeout" {
				s.log.Warn("readyz: store did not answer in time", "store", name, "limit", limit)
			}
		}
	}
	return c.JSON(status, out)
}
