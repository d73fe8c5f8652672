package test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/internal/testenv"
)

// TestBrowserDemoTileToProduct runs the real `ssogate demo` (built from
// cmd/ssogate) and follows, in Chromium, the path a first-time user takes:
// the Microsoft 365 tile at the fake Entra → the ACS → the company's start
// page, which the gateway proxies to the demo HR product; the product
// verifies X-Ssogate-Assertion against the JWKS and greets the employee.
// The product is not reachable around the gateway, and signing out from the
// product's page ends the gateway session.
func TestBrowserDemoTileToProduct(t *testing.T) {
	ctx := newChrome(t)
	bin := filepath.Join(t.TempDir(), "ssogate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ssogate")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err, "free port")
	addr := ln.Addr().String()
	ln.Close()
	dctx, stop := context.WithCancel(context.Background())
	cmd := exec.CommandContext(dctx, bin, "demo")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "SSOGATE_ADDR=" + addr, "SSOGATE_LOG_LEVEL=warn"}
	out, err := cmd.StdoutPipe()
	testenv.Must(t, err, "stdout")
	var logs syncBuf
	cmd.Stderr = &logs
	testenv.Must(t, cmd.Start(), "start demo")
	t.Cleanup(func() { stop(); _ = cmd.Wait() })

	// The demo prints its URLs; read until the product line.
	var printed strings.Builder
	productRE := regexp.MustCompile(`demo HR product \((http://127\.0\.0\.1:\d+), loopback only\)`)
	var productURL string
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	deadline := time.After(30 * time.Second)
	for productURL == "" || !strings.Contains(printed.String(), "Press Ctrl-C") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended:\n%s\n%s", printed.String(), logs.String())
			}
			printed.WriteString(l + "\n")
			if m := productRE.FindStringSubmatch(l); m != nil {
				productURL = m[1]
			}
		case <-deadline:
			t.Fatalf("demo did not print its URLs:\n%s\n%s", printed.String(), logs.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	base := "http://" + addr
	if !strings.Contains(printed.String(), base+"/fake-entra/myapps") {
		t.Fatalf("demo output lacks the tile URL:\n%s", printed.String())
	}

	// The tile, as Maja; the fake Entra's post page; the product page.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/fake-entra/myapps"), chromedp.WaitVisible(chromedp.CSS(`form button`)),
		chromedp.Click(chromedp.CSS(`form:first-of-type button`)), chromedp.WaitVisible(chromedp.ID("continue")),
		chromedp.Click(chromedp.ID("continue")), chromedp.WaitVisible(chromedp.ID("greeting")))
	if err != nil {
		screenshot(t, ctx, "demo-tile-failed")
		t.Fatalf("tile → product: %v\n%s", err, logs.String())
	}
	screenshot(t, ctx, "demo-product")
	greeting, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("greeting")))
	testenv.Must(t, err, "greeting")
	claims, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("claims")))
	testenv.Must(t, err, "claims")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	testenv.Must(t, err, "location")
	if greeting != "Hello, Maja Holm" || loc != base+"/c/demo/" {
		t.Fatalf("landed on %s with %q", loc, greeting)
	}
	for _, want := range []string{"maja.holm@demo.example", "demo", "admin", base} {
		if !strings.Contains(claims, want) {
			t.Fatalf("verified claims lack %q:\n%s", want, claims)
		}
	}

	// Around the gateway the product greets nobody.
	r, err := http.Get(productURL + "/c/demo/")
	testenv.Must(t, err, "product directly")
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("product reached directly: %d", r.StatusCode)
	}

	// Signing out from the product's page ends the session: the start page
	// goes back to Entra.
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action="/c/demo/logout"] button`)),
		chromedp.WaitNotPresent(chromedp.ID("greeting")), chromedp.Navigate(base+"/c/demo/"), chromedp.WaitVisible(chromedp.ID("signin-0")))
	if err != nil {
		screenshot(t, ctx, "demo-signout-failed")
		t.Fatalf("sign out from the product: %v\n%s", err, logs.String())
	}
}

// syncBuf is a strings.Builder safe for a process's output.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
