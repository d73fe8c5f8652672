package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"strconv"
	"strings"
	"time"
)

// upstreamCmd serves the stand-in product for the proxy benchmarks: every
// GET answers 200 with a small HTML page (-size bytes), as a product's page
// would; /healthz answers "ok". With -require-assertion it refuses a
// request without X-Ssogate-Assertion (so a run through ssogate proves the
// header arrived), without verifying it (verification is the product's
// cost, not the gateway's).
func upstreamCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18070", "loopback listen address")
	size := fs.Int("size", 1024, "bytes of the page")
	require := fs.Bool("require-assertion", false, "answer 401 to a request without X-Ssogate-Assertion")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *size < 0 || *size > 1<<20 {
		return errors.New("upstream: -size must be in [0, 1 MiB]")
	}
	body := []byte("<!doctype html><title>product</title><p>" + strings.Repeat("x", max(0, *size-42)) + "</p>\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok\n"))
			return
		}
		if *require && r.Header.Get("X-Ssogate-Assertion") == "" {
			http.Error(w, "no assertion", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	return serveLoopback(ctx, *addr, h)
}

// bareProxyCmd is the baseline the gateway's proxy is measured against:
// net/http/httputil.ReverseProxy with its defaults (and the same idle
// connection pool size as ssogate's), no authentication at all.
func bareProxyCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bareproxy", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18071", "loopback listen address")
	to := fs.String("to", "http://127.0.0.1:18070", "upstream URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := loopbackOnly(*to)
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.SetXForwarded()
		},
		Transport: tr,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("/", rp)
	return serveLoopback(ctx, *addr, mux)
}

func serveLoopback(ctx context.Context, addr string, h http.Handler) error {
	if _, err := loopbackOnly("http://" + addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(os.Stderr, "load: serving on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
