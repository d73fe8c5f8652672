package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ssogate/ssogate/web"
)

// serveMetrics starts the /metrics listener at SSOGATE_METRICS_ADDR (none
// when it is off) and returns the function that stops it. The metrics name
// every company, so they are served apart from the public listener; a
// metrics address that cannot be bound stops the start, naming the key.
func (e *env) serveMetrics(srv *web.Server) (stop func(), err error) {
	if !e.cfg.MetricsOn() {
		e.log.Info("metrics: off (SSOGATE_METRICS_ADDR=off)")
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", e.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("SSOGATE_METRICS_ADDR: %w (choose another host:port, or off)", err)
	}
	hs := &http.Server{Handler: srv.MetricsHandler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelWarn)}
	e.log.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("metrics listener stopped", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}, nil
}
