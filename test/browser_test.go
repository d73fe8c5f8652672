package test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/internal/testenv"
)

// newChrome starts a real headless Chromium (Debian's) for one test and
// returns a browsing context. Each call gets a fresh profile.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	bin := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshot saves a full-page PNG under test/output/screenshots.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join("output", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

func TestBrowserSPInitiatedLogin(t *testing.T) {
	g := newGW(t, backends()[0])
	ctx := newChrome(t)
	// Opening the app unauthenticated goes to Entra and back to the page asked for.
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/c/acme/"), chromedp.WaitVisible(chromedp.ID("signin-0"))); err != nil {
		t.Fatalf("reach the fake Entra: %v\n%s", err, g.logText())
	}
	screenshot(t, ctx, "fake-entra-login")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("signin-0")),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/logout"]`))); err != nil {
		t.Fatalf("sign in: %v\n%s", err, g.logText())
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err, "read page")
	screenshot(t, ctx, "signed-in-home")
	if !strings.Contains(page, "Signed in as Maja Holm") {
		t.Fatalf("home page: %q", page)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	testenv.Must(t, err, "location")
	if loc != g.URL+"/c/acme/" {
		t.Fatalf("landed on %q", loc)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{g.URL + "/"}})
	testenv.Must(t, err, "cookies")
	var sess *network.Cookie
	for _, c := range res.Cookies {
		if strings.Contains(c.Name, "ssogate_session") {
			sess = c
		}
	}
	if sess == nil || !sess.HTTPOnly || sess.SameSite != network.CookieSameSiteLax {
		t.Fatalf("session cookie in the browser: %+v", sess)
	}
	// The API sees the same session.
	testenv.Must(t, chromedp.Do(ctx, chromedp.Navigate(g.URL+"/c/acme/api/me")), "navigate")
	me, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	testenv.Must(t, err, "api/me")
	if !strings.Contains(me, `"userName":"maja.holm@acme.example"`) {
		t.Fatalf("/api/me in the browser: %s", me)
	}
	// Sign out: the button ends the session.
	err = chromedp.Do(ctx, chromedp.Navigate(g.URL+"/c/acme/"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/logout"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href$="/login"]`)))
	testenv.Must(t, err, "sign out")
	testenv.Must(t, chromedp.Do(ctx, chromedp.Navigate(g.URL+"/c/acme/api/me")), "navigate")
	me, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	testenv.Must(t, err, "api/me after logout")
	if !strings.Contains(me, "unauthorized") {
		t.Fatalf("after sign-out: %s", me)
	}
}
