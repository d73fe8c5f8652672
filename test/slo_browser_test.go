package test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/internal/testenv"
)

// browserSignIn signs in through the fake Entra in Chromium (SP-initiated).
func browserSignIn(t *testing.T, g *gw, ctx context.Context) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/c/acme/"), chromedp.WaitVisible(chromedp.ID("signin-0")),
		chromedp.Click(chromedp.ID("signin-0")), chromedp.WaitVisible(chromedp.CSS(`form[action$="/logout"] button`)))
	if err != nil {
		t.Fatalf("sign in: %v\n%s", err, g.logText())
	}
}

func browserMe(t *testing.T, ctx context.Context, g *gw) string {
	t.Helper()
	testenv.Must(t, chromedp.Do(ctx, chromedp.Navigate(g.URL+"/c/acme/api/me")), "navigate")
	me, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	testenv.Must(t, err, "api/me")
	return me
}

func TestBrowserSingleLogoutFromHere(t *testing.T) {
	g := newGW(t, backends()[0])
	g.enableSLO(t, true)
	ctx := newChrome(t)
	browserSignIn(t, g, ctx)
	if me := browserMe(t, ctx, g); !strings.Contains(me, `"userName":"maja.holm@acme.example"`) {
		t.Fatalf("not signed in: %s", me)
	}
	// Sign out: through Entra's logout endpoint and back to signed-out.
	err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/c/acme/"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/logout"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href$="/login"]`)))
	if err != nil {
		t.Fatalf("sign out: %v\n%s", err, g.logText())
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	testenv.Must(t, err, "location")
	h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	testenv.Must(t, err, "h1")
	if loc != g.URL+"/c/acme/signed-out" || h1 != "Signed out" {
		t.Fatalf("landed on %q (%q)", loc, h1)
	}
	if !strings.Contains(g.logText(), "single logout confirmed by Entra") {
		t.Fatalf("the browser did not pass through Entra:\n%s", g.logText())
	}
	if me := browserMe(t, ctx, g); !strings.Contains(me, "unauthorized") {
		t.Fatalf("after sign-out: %s", me)
	}
}

func TestBrowserSingleLogoutFromEntra(t *testing.T) {
	g := newGW(t, backends()[0])
	g.enableSLO(t, true)
	ctx := newChrome(t)
	browserSignIn(t, g, ctx)
	// Entra's own sign-out sends the browser to the Logout Url with a
	// LogoutRequest; the gateway answers at Entra, which shows its page.
	err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/fake-entra/signout?user=0"), chromedp.WaitVisible(chromedp.ID("entra-signed-out")))
	if err != nil {
		t.Fatalf("Entra sign-out: %v\n%s", err, g.logText())
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	testenv.Must(t, err, "read Entra's page")
	if !strings.Contains(text, "The application confirmed the sign-out.") {
		t.Fatalf("Entra's page: %q", text)
	}
	if me := browserMe(t, ctx, g); !strings.Contains(me, "unauthorized") {
		t.Fatalf("still signed in after Entra's sign-out: %s", me)
	}
}
