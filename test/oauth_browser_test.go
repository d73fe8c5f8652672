package test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/internal/testenv"
)

// appHops records the requests of a real browser: every URL it asked for,
// and the custom-scheme navigations meant for the app (the browser hands
// those to the OS, which would open the app).
type appHops struct {
	mu    sync.Mutex
	urls  []string
	toApp chan appHop
}

type appHop struct {
	url  string // com.example.app:/oauth2redirect?code=…&state=…
	from string // the URL whose redirect led there
}

func (h *appHops) listen(t *testing.T, ctx context.Context) {
	t.Helper()
	h.toApp = make(chan appHop, 4)
	err := chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*network.EventRequestWillBeSent)
		if !ok || e.Request == nil {
			return
		}
		h.mu.Lock()
		h.urls = append(h.urls, e.Request.URL)
		h.mu.Unlock()
		if strings.HasPrefix(e.Request.URL, appRedirect+"?") {
			hop := appHop{url: e.Request.URL}
			if e.RedirectResponse != nil {
				hop.from = e.RedirectResponse.URL
			}
			select {
			case h.toApp <- hop:
			default:
			}
		}
	})
	testenv.Must(t, err, "listen to the browser")
}

// next waits for the browser to head for the app.
func (h *appHops) next(t *testing.T, g *gw) appHop {
	t.Helper()
	select {
	case hop := <-h.toApp:
		return hop
	case <-time.After(20 * time.Second):
		t.Fatalf("the browser never went to %s; it asked for:\n%s\n%s", appRedirect, strings.Join(h.take(), "\n"), g.logText())
	}
	return appHop{}
}

// take returns the URLs asked for since the last take.
func (h *appHops) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.urls
	h.urls = nil
	return out
}

// TestMobileSignInInChromium: the app opens the system browser (headless
// Chromium) at the authorize URL; the employee signs in at Entra; the
// browser follows the redirects to the app's custom scheme, where the code
// is read; the app (Go's HTTP client) redeems it and calls /api/me.
func TestMobileSignInInChromium(t *testing.T) {
	g := newMobileGW(t, backends()[0])
	ctx := newChrome(t)
	var hops appHops
	hops.listen(t, ctx)

	p := newPKCE()
	start := g.URL + authorizePath("acme", p, "from-the-app")
	if err := chromedp.Do(ctx, chromedp.Navigate(start), chromedp.WaitVisible(chromedp.ID("signin-0"))); err != nil {
		t.Fatalf("reach the fake Entra: %v\n%s", err, g.logText())
	}
	screenshot(t, ctx, "mobile-fake-entra")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("signin-0")), chromedp.WaitVisible(chromedp.ID("consent-allow"))); err != nil {
		t.Fatalf("sign in at Entra: %v\n%s", err, g.logText())
	}
	// A custom-scheme redirect needs the employee's click (RFC 8252 §8.6).
	screenshot(t, ctx, "mobile-consent")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("consent-allow"))); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	hop := hops.next(t, g)
	chain := hops.take()
	if !strings.HasPrefix(hop.from, g.URL+"/c/acme/oauth/authorize?") {
		t.Fatalf("the app redirect came from %q, want the authorize endpoint", hop.from)
	}
	if !containsPrefix(chain, g.URL+"/fake-entra/saml2?") || !containsPrefix(chain, g.URL+"/c/acme/saml/acs") {
		t.Fatalf("the first sign-in must go through Entra and the ACS:\n%s", strings.Join(chain, "\n"))
	}
	v, err := url.ParseQuery(strings.TrimPrefix(hop.url, appRedirect+"?"))
	testenv.Must(t, err, "parse the app redirect")
	if v.Get("state") != "from-the-app" || len(v.Get("code")) != 43 {
		t.Fatalf("the app received %v", v)
	}
	access, _ := g.wantTokens(t, g.redeem(t, "acme", v.Get("code"), p))
	g.wantBearer(t, "acme", access, http.StatusOK)

	// The app signs in again later: the browser's session answers at once,
	// without Entra.
	p2 := newPKCE()
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+authorizePath("acme", p2, "again")),
		chromedp.WaitVisible(chromedp.ID("consent-allow")), chromedp.Click(chromedp.ID("consent-allow"))); err != nil {
		t.Fatalf("second authorize: %v", err)
	}
	hop = hops.next(t, g)
	chain = hops.take()
	if containsPrefix(chain, g.URL+"/fake-entra/") || containsPrefix(chain, g.URL+"/c/acme/login") {
		t.Fatalf("a signed-in browser must not go back to Entra:\n%s", strings.Join(chain, "\n"))
	}
	v, err = url.ParseQuery(strings.TrimPrefix(hop.url, appRedirect+"?"))
	testenv.Must(t, err, "parse the second app redirect")
	if v.Get("state") != "again" {
		t.Fatalf("second redirect %v", v)
	}
	access2, _ := g.wantTokens(t, g.redeem(t, "acme", v.Get("code"), p2))
	g.wantBearer(t, "acme", access2, http.StatusOK)

	// A bad redirect URI stays in the browser as an error page.
	bad := g.URL + authorizePath("acme", newPKCE(), "x", "redirect_uri", "https://evil.example/cb")
	if err := chromedp.Do(ctx, chromedp.Navigate(bad)); err != nil {
		t.Fatalf("bad redirect: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatalf("bad redirect page: %v", err)
	}
	screenshot(t, ctx, "mobile-bad-redirect")
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if loc != bad || !strings.Contains(text, "not registered") {
		t.Fatalf("bad redirect URI: at %q showing %q", loc, text)
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
