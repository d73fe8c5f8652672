package test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
)

// passwordChecks reads ssogate_password_checks_total{outcome} from the
// gateway's registry ("" = every outcome but busy: the hashes that ran).
func (g *gw) passwordChecks(t *testing.T, outcome string) int {
	t.Helper()
	fams, err := g.reg.Gather()
	testenv.Must(t, err, "gather metrics")
	total := 0
	for _, f := range fams {
		if f.GetName() != "ssogate_password_checks_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			o := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					o = l.GetValue()
				}
			}
			if o == outcome || (outcome == "" && o != "busy") {
				total += int(m.GetCounter().GetValue())
			}
		}
	}
	return total
}

// adminAttempt is one POST to the console's sign-in form from a client
// address (X-Forwarded-For; the gateway trusts it in these tests).
func (g *gw) adminAttempt(t *testing.T, addr, email, pw string) *http.Response {
	t.Helper()
	return g.formAttempt(t, addr, "/admin/login", "/admin/login", url.Values{"email": {email}, "password": {pw}})
}

// employeeAttempt is one POST to the employees' password sign-in form from
// a client address.
func (g *gw) employeeAttempt(t *testing.T, addr, name, pw string) *http.Response {
	t.Helper()
	return g.formAttempt(t, addr, "/login?method=password", "/login", url.Values{"username": {name}, "password": {pw}})
}

// formAttempt opens page in a new browser for acme, then posts form with
// that page's CSRF token to action, from addr when it is not empty.
func (g *gw) formAttempt(t *testing.T, addr, page, action string, form url.Values) *http.Response {
	t.Helper()
	a := &adminClient{browser: newBrowser(), g: g, slug: "acme"}
	_, body := a.get(t, page)
	form.Set("csrf", csrfFrom(t, body))
	req, err := http.NewRequest(http.MethodPost, g.URL+"/c/acme"+action, strings.NewReader(form.Encode()))
	testenv.Must(t, err, "request")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	resp, err := a.Do(req)
	testenv.Must(t, err, "POST %s", action)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func trustProxy(c *config.Config) { c.TrustProxyHeaders = true }

func concurrency(n int64) gwOpt { return func(c *config.Config) { c.PasswordConcurrency = n } }

// burst runs n attempts at once and returns their answers.
func burst(n int, attempt func(i int) *http.Response) []*http.Response {
	out := make([]*http.Response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = attempt(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// TestPasswordChecksAreBounded: a burst of wrong-password sign-ins for
// unknown accounts (each an argon2id hash of 32 MiB) runs at most
// SSOGATE_PASSWORD_CONCURRENCY hashes at once; the rest are answered 503
// at once with Retry-After and a page that says to try again, without
// hashing. Unknown accounts still cost a hash each (no enumeration by
// timing).
func TestPasswordChecksAreBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b, trustProxy, concurrency(1))
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		var got map[int]int
		busy := 0
		for round := 0; round < 3 && busy == 0; round++ {
			got = map[int]int{}
			rs := burst(16, func(i int) *http.Response {
				return g.adminAttempt(t, fmt.Sprintf("198.51.%d.%d", round, i+1), fmt.Sprintf("nobody%d@acme.example", i), "a wrong password")
			})
			for _, r := range rs {
				got[r.StatusCode]++
				if r.StatusCode == http.StatusServiceUnavailable {
					busy++
					page := body(t, r)
					if r.Header.Get("Retry-After") != "1" || !strings.Contains(page, "Wait a few seconds") {
						t.Fatalf("busy answer: Retry-After %q\n%s", r.Header.Get("Retry-After"), page)
					}
				}
			}
			if got[http.StatusUnauthorized]+got[http.StatusServiceUnavailable] != 16 {
				t.Fatalf("answers %v, want only 401 and 503", got)
			}
		}
		if busy == 0 {
			t.Fatalf("16 concurrent password checks with SSOGATE_PASSWORD_CONCURRENCY=1 all ran: %v", got)
		}
		// Every 503 was refused without a hash; every 401 was one hash.
		if n := g.passwordChecks(t, "busy"); n != busy {
			t.Fatalf("busy metric %d, 503 answers %d", n, busy)
		}
		// The slots come back: the admin signs in.
		if r := g.adminAttempt(t, "203.0.113.9", adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("admin after the burst: %d", r.StatusCode)
		}
	})
}

// TestPasswordLockoutHoldsUnderConcurrency: once an account is locked for
// an address, a burst of concurrent attempts from that address gets no
// password checked at all (the count is one atomic step before any hash);
// before, each attempt took the lock and put it back, and concurrent ones
// slipped through to real checks.
func TestPasswordLockoutHoldsUnderConcurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b, trustProxy, concurrency(64))
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		const attacker = "198.51.100.66"
		for i := range 5 {
			if r := g.adminAttempt(t, attacker, adminEmail, fmt.Sprintf("guess %d", i)); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, r.StatusCode)
			}
		}
		before := g.passwordChecks(t, "")
		rs := burst(30, func(i int) *http.Response { return g.adminAttempt(t, attacker, adminEmail, fmt.Sprintf("burst %d", i)) })
		checked := 0
		for _, r := range rs {
			if r.StatusCode != http.StatusTooManyRequests {
				checked++
			}
		}
		if ran := g.passwordChecks(t, "") - before; checked > 0 || ran > 0 {
			t.Fatalf("during the lockout %d of 30 concurrent attempts were answered other than 429 and %d passwords were checked; want none", checked, ran)
		}
		for _, r := range rs {
			if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 900 {
				t.Fatalf("429 with Retry-After %q", r.Header.Get("Retry-After"))
			}
		}
		// The right password from that address is refused too ...
		if r := g.adminAttempt(t, attacker, adminEmail, adminPassword); r.StatusCode != http.StatusTooManyRequests ||
			!strings.Contains(body(t, r), "Too many failed sign-ins") {
			t.Fatalf("locked pair accepted: %d", r.StatusCode)
		}
		// ... but the admin at their own address is not locked out.
		if r := g.adminAttempt(t, "203.0.113.7", adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the admin at another address: %d", r.StatusCode)
		}
	})
}

// TestPasswordAccountSlowdownNotLockout: a guesser spread over many
// addresses slows the account down (at most one check per delay once its
// free attempts are used) but cannot lock the admin out: the admin's
// usual address is not slowed, and a new address gets through once the
// delay has passed.
func TestPasswordAccountSlowdownNotLockout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b, trustProxy, concurrency(64))
		g.addAdmin(t, g.company, adminEmail, adminPassword)
		const home = "203.0.113.10"
		if r := g.adminAttempt(t, home, adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first sign-in: %d", r.StatusCode)
		}
		// Ten failures from ten addresses: the account's free attempts.
		for i := range 10 {
			if r := g.adminAttempt(t, fmt.Sprintf("192.0.2.%d", i+1), adminEmail, "wrong"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("distributed failure %d: %d", i, r.StatusCode)
			}
		}
		before := g.passwordChecks(t, "")
		start := time.Now()
		rs := burst(20, func(i int) *http.Response {
			return g.adminAttempt(t, fmt.Sprintf("192.0.2.%d", 100+i), adminEmail, "wrong")
		})
		// One check per slot: the first slot is held 1 s (then 2 s, ...),
		// so a slow machine may see the burst outlast one.
		allowed := 1 + int(time.Since(start)/time.Second)
		slowed := 0
		for _, r := range rs {
			if r.StatusCode == http.StatusTooManyRequests {
				slowed++
			}
		}
		if ran := g.passwordChecks(t, "") - before; ran > allowed || slowed < 20-allowed {
			t.Fatalf("slowed account: %d checks and %d of 20 answers 429 in %s; want at most %d checks", ran, slowed, time.Since(start), allowed)
		}
		// The admin's usual address is not slowed.
		if r := g.adminAttempt(t, home, adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the admin at home during the attack: %d\n%s", r.StatusCode, body(t, r))
		}
		// A new address gets a check once the delay has passed (at most
		// 2^checks seconds after the last slowed check).
		time.Sleep(time.Duration(1<<min(allowed, 4))*time.Second + 100*time.Millisecond)
		if r := g.adminAttempt(t, "203.0.113.99", adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the admin at a new address after the delay: %d", r.StatusCode)
		}
	})
}

// TestPasswordThrottleKeys: the per-(account, address) budget is one per
// account, whichever of its names is typed (before, the userName and the
// email of one employee each had their own), and one per network, however
// many hosts of an IPv6 /64 take turns (before, each host had its own).
func TestPasswordThrottleKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b, trustProxy, concurrency(64))
		ctx := context.Background()
		co := g.company
		const kariPW = "kari's long password"
		kari := &directory.Employee{CompanyID: co.ID, UserName: "kari.local@acme.example", Email: "kari@acme.example",
			GivenName: "Kari", FamilyName: "Lokal", Source: directory.SourceLocal, Active: true}
		testenv.Must(t, g.dir.CreateEmployee(ctx, kari), "create kari")
		h, err := password.Hash(kariPW)
		testenv.Must(t, err, "hash")
		testenv.Must(t, g.dir.SetEmployeePassword(ctx, co.ID, kari.ID, h), "set password")
		if r := g.employeeAttempt(t, "203.0.113.50", "KARI@acme.example", kariPW); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("Kari by email: %d\n%s", r.StatusCode, body(t, r))
		}

		// Five failures from one address, alternating her two names, use
		// up the address's budget for Kari.
		const attacker = "198.51.100.80"
		for i, name := range []string{kari.UserName, kari.Email, kari.UserName, kari.Email, kari.UserName} {
			if r := g.employeeAttempt(t, attacker, name, fmt.Sprintf("guess %d", i)); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d (%s): %d", i, name, r.StatusCode)
			}
		}
		for _, name := range []string{kari.Email, kari.UserName} {
			r := g.employeeAttempt(t, attacker, name, kariPW)
			if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(body(t, r), "Too many failed sign-ins") {
				t.Fatalf("6th attempt for Kari from one address, as %s: %d, want 429", name, r.StatusCode)
			}
			if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 900 {
				t.Fatalf("429 with Retry-After %q", r.Header.Get("Retry-After"))
			}
		}
		// Kari elsewhere is not locked out.
		if r := g.employeeAttempt(t, "203.0.113.50", kari.Email, kariPW); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("Kari at her own address: %d", r.StatusCode)
		}

		// An IPv6 /64 is one address: five hosts of it fail for the
		// admin, a sixth is refused even with the right password; another
		// /64 is not.
		g.addAdmin(t, co, adminEmail, adminPassword)
		for i := range 5 {
			if r := g.adminAttempt(t, fmt.Sprintf("2001:db8:5:5::%x", i+1), adminEmail, "wrong"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("IPv6 failure %d: %d", i, r.StatusCode)
			}
		}
		if r := g.adminAttempt(t, "2001:db8:5:5:abcd::1", adminEmail, adminPassword); r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("another host of the /64 after five failures: %d, want 429", r.StatusCode)
		}
		if r := g.adminAttempt(t, "2001:db8:5:6::1", adminEmail, adminPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("another /64: %d", r.StatusCode)
		}
	})
}
