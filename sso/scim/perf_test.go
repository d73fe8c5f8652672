package scim

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ssogate/ssogate/sso/directory"
)

// countingStore counts token lookups.
type countingStore struct {
	directory.Store
	lookups int
}

func (c *countingStore) FindSCIMToken(ctx context.Context, hash []byte) (*directory.SCIMToken, error) {
	c.lookups++
	return c.Store.FindSCIMToken(ctx, hash)
}

// TestTokenCache: with TokenTTL a valid token is read once per TTL; a
// revocation takes effect when the TTL has passed (or at once after
// ForgetTokens); the company check, bad tokens and throttling are as
// without the cache.
func TestTokenCache(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		cs := &countingStore{Store: e.st}
		e.h = New(Options{Store: cs, Settler: e.settler(e.st), Throttle: e.thr, Now: func() time.Time { return e.now },
			TokenTTL: 2 * time.Second})
		e.do("GET", "/Users", "").must(t, 200)
		e.do("GET", "/Users", "").must(t, 200)
		if cs.lookups != 1 {
			t.Fatalf("%d token lookups for two requests within the TTL, want 1", cs.lookups)
		}
		// The cached token is still bound to its company.
		other := &directory.Company{Slug: e.c.Slug + "o", Name: "O", NameIDMode: directory.NameIDUPN}
		if err := e.st.CreateCompany(ctx, other); err != nil {
			t.Fatal(err)
		}
		e.doAs(other, e.token, "GET", "/Users", "").scimErr(t, 401, "")

		// Revoked: accepted until the TTL has passed, then refused.
		toks, err := e.st.ListSCIMTokens(ctx, e.c.ID)
		if err != nil || len(toks) != 1 {
			t.Fatalf("tokens: %v %v", toks, err)
		}
		if err := e.st.RevokeSCIMToken(ctx, e.c.ID, toks[0].ID, e.now); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(time.Second)
		e.do("GET", "/Users", "").must(t, 200)
		e.now = e.now.Add(time.Second)
		e.do("GET", "/Users", "").scimErr(t, 401, "")
		e.now = e.now.Add(time.Hour)
		e.do("GET", "/Users", "").scimErr(t, 401, "") // never cached while revoked

		// ForgetTokens makes a revocation immediate in this instance.
		tok2, id2, err := mintToken(ctx, e.st, e.c.ID, "second")
		if err != nil {
			t.Fatal(err)
		}
		e.doAs(e.c, tok2, "GET", "/Users", "").must(t, 200)
		if err := e.st.RevokeSCIMToken(ctx, e.c.ID, id2, e.now); err != nil {
			t.Fatal(err)
		}
		e.h.ForgetTokens()
		e.doAs(e.c, tok2, "GET", "/Users", "").scimErr(t, 401, "")

		// Bad tokens are read every time and still throttled.
		n := cs.lookups
		var last *resp
		for range 25 {
			last = e.doAs(e.c, "ssg_scim_wrong", "GET", "/Users", "")
		}
		last.scimErr(t, 429, "")
		if cs.lookups-n != 25 {
			t.Fatalf("%d lookups for 25 bad tokens, want 25", cs.lookups-n)
		}
	})
}

// TestWriteAnswersAsStored: POST and PATCH answer the employee as a later
// GET returns it (they no longer read it back), including the version and
// the times, through creation, a manager link, a pending reference that
// resolves, deactivation and reactivation.
func TestWriteAnswersAsStored(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		same := func(what string, r *resp) {
			t.Helper()
			id := r.body["id"].(string)
			g := e.do("GET", "/Users/"+id, "").must(t, 200)
			a, _ := json.Marshal(r.body)
			b, _ := json.Marshal(g.body)
			if string(a) != string(b) {
				t.Fatalf("%s answered\n%s\nbut GET returns\n%s", what, a, b)
			}
			if r.hdr.Get("ETag") != g.hdr.Get("ETag") {
				t.Fatalf("%s: ETag %s, GET %s", what, r.hdr.Get("ETag"), g.hdr.Get("ETag"))
			}
		}
		boss := e.do("POST", "/Users", user("boss@contoso.com", "B", "Oss")).must(t, 201)
		same("POST", boss)
		bossID := boss.body["id"].(string)
		// A report waiting for a manager by externalId, created first.
		rep := e.do("POST", "/Users", user("rep@contoso.com", "R", "Ep", URNEnterprise, `{"manager":"late"}`)).must(t, 201)
		same("POST with a pending manager", rep)
		late := e.do("POST", "/Users", user("late@contoso.com", "L", "Ate", "externalId", `"late"`)).must(t, 201)
		same("POST that resolves a pending reference (and becomes approver)", late)
		if !e.employee(late.body["id"].(string)).IsApprover {
			t.Fatal("the resolved manager is not an approver")
		}
		ann := e.do("POST", "/Users", user("ann@contoso.com", "A", "Nn")).must(t, 201)
		annID := ann.body["id"].(string)
		same("PATCH manager", e.do("PATCH", "/Users/"+annID, patchBody(`{"op":"Add","path":"`+mgrPath+`","value":"`+bossID+`"}`)).must(t, 200))
		same("PATCH active false", e.do("PATCH", "/Users/"+annID, patchBody(`{"op":"Replace","path":"active","value":false}`)).must(t, 200))
		if e.employee(bossID).IsApprover {
			t.Fatal("boss still approver with only an inactive report")
		}
		same("PATCH active true", e.do("PATCH", "/Users/"+annID, patchBody(`{"op":"Replace","path":"active","value":true}`)).must(t, 200))
		same("PATCH nothing", e.do("PATCH", "/Users/"+annID, patchBody(`{"op":"Replace","path":"active","value":true}`)).must(t, 200))
		if !e.employee(bossID).IsApprover {
			t.Fatal("boss not approver again")
		}
	})
}
