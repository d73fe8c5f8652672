package scim

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/scimcred"
	"github.com/ssogate/ssogate/sso/directory"
)

func TestTokens(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if !strings.HasPrefix(e.token, scimcred.TokenPrefix) || len(e.token) < 40 {
			t.Fatalf("token %q", e.token)
		}
		toks, err := e.st.ListSCIMTokens(ctx, e.c.ID)
		if err != nil || len(toks) != 1 || strings.Contains(string(toks[0].Hash), e.token) || len(toks[0].Hash) != 32 {
			t.Fatalf("stored token: %v %v", toks, err)
		}
		e.do("GET", "/Users", "").must(t, 200)

		r := e.doAs(e.c, "", "GET", "/Users", "")
		r.scimErr(t, 401, "")
		if r.hdr.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
		e.doAs(e.c, e.token+"x", "GET", "/Users", "").scimErr(t, 401, "")
		e.doAs(e.c, e.token, "GET", "/Users", "", "Authorization", "Basic "+e.token).scimErr(t, 401, "")

		// Another company's token is useless here, and the reverse.
		other := &directory.Company{Slug: e.c.Slug + "b", Name: "B", NameIDMode: directory.NameIDUPN}
		if err := e.st.CreateCompany(ctx, other); err != nil {
			t.Fatal(err)
		}
		otherTok, _, err := mintToken(ctx, e.st, other.ID, "b")
		if err != nil {
			t.Fatal(err)
		}
		e.doAs(e.c, otherTok, "GET", "/Users", "").scimErr(t, 401, "")
		e.doAs(other, e.token, "POST", "/Users", user("x@b.com", "X", "B")).scimErr(t, 401, "")
		e.doAs(other, otherTok, "GET", "/Users", "").must(t, 200)

		// Rotation: two valid tokens; revoking one leaves the other.
		tok2, id2, err := mintToken(ctx, e.st, e.c.ID, "rotation")
		if err != nil {
			t.Fatal(err)
		}
		e.doAs(e.c, tok2, "GET", "/Users", "").must(t, 200)
		if err := e.st.RevokeSCIMToken(ctx, e.c.ID, id2, time.Now()); err != nil {
			t.Fatal(err)
		}
		e.doAs(e.c, tok2, "GET", "/Users", "").scimErr(t, 401, "")
		e.do("GET", "/Users", "").must(t, 200)

		// Throttling: past 20 bad tokens a minute from one IP → 429.
		var last *resp
		for range 25 {
			last = e.doAs(e.c, "wrong", "GET", "/Users", "")
		}
		last.scimErr(t, 429, "")
		if last.hdr.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		// The company's real token still works (a guesser cannot lock Entra out).
		e.do("GET", "/Users", "").must(t, 200)
	})
}

func TestBadInput(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.do("POST", "/Users", user("ok@contoso.com", "O", "K")).must(t, 201).body["id"].(string)
		long := strings.Repeat("x", 2000)
		cases := []struct {
			name, method, target, body string
			hdr                        []string
			code                       int
			scimType                   string
		}{
			{"text/plain", "POST", "/Users", user("a@b.c", "A", "B"), []string{"Content-Type", "text/plain"}, 415, ""},
			{"no content type", "PATCH", "/Users/" + id, patchBody(`{"op":"add","path":"title","value":"x"}`), []string{"Content-Type", ""}, 415, ""},
			{"json with charset ok", "POST", "/Users", user("cs@b.c", "A", "B"), []string{"Content-Type", "application/json; charset=UTF-8"}, 201, ""},
			{"too big", "POST", "/Users", `{"userName":"` + strings.Repeat("a", 2<<20) + `"}`, nil, 413, ""},
			{"malformed JSON", "POST", "/Users", `{"userName":`, nil, 400, "invalidSyntax"},
			{"not an object", "POST", "/Users", `["a"]`, nil, 400, "invalidSyntax"},
			{"trailing data", "POST", "/Users", user("t@b.c", "A", "B") + `{}`, nil, 400, "invalidSyntax"},
			{"missing userName", "POST", "/Users", `{"name":{"givenName":"A","familyName":"B"}}`, nil, 400, "invalidValue"},
			{"missing givenName", "POST", "/Users", `{"userName":"g@b.c","name":{"familyName":"B"}}`, nil, 400, "invalidValue"},
			{"missing familyName", "POST", "/Users", `{"userName":"f@b.c","name":{"givenName":"A"}}`, nil, 400, "invalidValue"},
			{"over-long userName", "POST", "/Users", user(long+"@b.c", "A", "B"), nil, 400, "invalidValue"},
			{"over-long title", "POST", "/Users", user("lt@b.c", "A", "B", "title", `"`+long+`"`), nil, 400, "invalidValue"},
			{"NUL in name", "POST", "/Users", user("nul@b.c", "A\u0000", "B"), nil, 400, "invalidValue"},
			{"object for a string", "POST", "/Users", user("obj@b.c", "A", "B", "title", `{"x":1}`), nil, 400, "invalidValue"},
			{"active not boolean", "POST", "/Users", user("ab@b.c", "A", "B", "active", `"yes"`), nil, 400, "invalidValue"},
			{"bad op", "PATCH", "/Users/" + id, patchBody(`{"op":"merge","path":"title","value":"x"}`), nil, 400, "invalidSyntax"},
			{"no operations", "PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, nil, 400, "invalidSyntax"},
			{"bad path", "PATCH", "/Users/" + id, patchBody(`{"op":"add","path":"emails[type eq","value":"x"}`), nil, 400, "invalidPath"},
			{"remove without path", "PATCH", "/Users/" + id, patchBody(`{"op":"remove"}`), nil, 400, "noTarget"},
			{"no-path non-object", "PATCH", "/Users/" + id, patchBody(`{"op":"replace","value":"x"}`), nil, 400, "invalidValue"},
			{"remove givenName", "PATCH", "/Users/" + id, patchBody(`{"op":"remove","path":"name.givenName"}`), nil, 400, "invalidValue"},
			{"remove active", "PATCH", "/Users/" + id, patchBody(`{"op":"remove","path":"active"}`), nil, 400, "invalidValue"},
			{"hostile id", "GET", "/Users/" + url.PathEscape("../../etc'; drop"), "", nil, 404, ""},
			{"long id", "GET", "/Users/" + strings.Repeat("a", 500), "", nil, 404, ""},
			{"unknown id", "PATCH", "/Users/nope", patchBody(`{"op":"add","path":"title","value":"x"}`), nil, 404, ""},
			{"bad startIndex", "GET", "/Users?startIndex=abc", "", nil, 400, "invalidValue"},
			{"method", "POST", "/Users/" + id, user("m@b.c", "A", "B"), nil, 405, ""},
			{"groups", "GET", `/Groups?excludedAttributes=members&filter=displayName+eq+"x"`, "", nil, 404, ""},
			{"unknown endpoint", "GET", "/Bulk", "", nil, 404, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before, _, _ := e.st.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: e.c.ID, Limit: 100})
				v := e.employee(id).Version
				r := e.do(c.method, c.target, c.body, c.hdr...)
				if c.code < 300 {
					r.must(t, c.code)
					return
				}
				r.scimErr(t, c.code, c.scimType)
				after, _, _ := e.st.ListEmployees(ctx, directory.EmployeeQuery{CompanyID: e.c.ID, Limit: 100})
				if len(after) != len(before) || e.employee(id).Version != v {
					t.Fatal("a refused request changed something")
				}
			})
		}
		// Refused writes are in the log, with the outcome.
		log, _ := e.st.ListProvisioning(ctx, directory.ProvisioningQuery{CompanyID: e.c.ID, Outcome: "error", Limit: 100})
		if len(log) < 5 {
			t.Fatalf("refused writes not logged: %d", len(log))
		}
	})
}

// A PATCH that fails half-way leaves nothing written.
func TestPatchIsAtomic(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a := e.do("POST", "/Users", user("a@contoso.com", "A", "A")).must(t, 201).body["id"].(string)
		e.do("POST", "/Users", user("b@contoso.com", "B", "B")).must(t, 201)
		v := e.employee(a).Version
		e.do("PATCH", "/Users/"+a, patchBody(`{"op":"Replace","path":"title","value":"T"}`,
			`{"op":"Replace","path":"userName","value":"B@contoso.com"}`)).scimErr(t, 409, "uniqueness")
		if emp := e.employee(a); emp.Version != v || emp.Title != "" {
			t.Fatalf("half-written: %+v", emp)
		}
	})
}

func TestListingAndAttributes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		var ids []string
		for i := range 5 {
			e.now = e.now.Add(time.Second)
			ids = append(ids, e.do("POST", "/Users", user("l"+string(rune('a'+i))+"@contoso.com", "L", "M")).must(t, 201).body["id"].(string))
		}
		e.do("DELETE", "/Users/"+ids[4], "").must(t, 204)
		r := e.do("GET", "/Users?startIndex=2&count=2", "").must(t, 200)
		if r.body["totalResults"] != float64(4) || r.body["itemsPerPage"] != float64(2) || r.body["startIndex"] != float64(2) {
			t.Fatalf("page: %s", r.raw)
		}
		r = e.do("GET", "/Users?count=0", "").must(t, 200)
		if r.body["totalResults"] != float64(4) || len(r.body["Resources"].([]any)) != 0 {
			t.Fatalf("count=0: %s", r.raw)
		}
		r = e.do("GET", "/Users?startIndex=-3&count=-1", "").must(t, 200)
		if r.body["startIndex"] != float64(1) || r.body["itemsPerPage"] != float64(0) {
			t.Fatalf("negative: %s", r.raw)
		}
		r = e.do("GET", "/Users/"+ids[0]+"?attributes=userName,name.givenName,"+URNEnterprise, "").must(t, 200)
		if r.body["id"] != ids[0] || r.body["userName"] == nil || get(r.body, "name", "givenName") != "L" ||
			get(r.body, "name", "familyName") != nil || r.body["emails"] != nil || r.body["active"] != nil {
			t.Fatalf("attributes: %s", r.raw)
		}
		r = e.do("GET", `/Users?filter=userName+eq+"la%40contoso.com"&excludedAttributes=emails,name`, "").must(t, 200)
		res := get(r.body, "Resources", 0).(map[string]any)
		if res["emails"] != nil || res["name"] != nil || res["userName"] == nil || res["id"] != ids[0] {
			t.Fatalf("excludedAttributes: %s", r.raw)
		}
	})
}

func TestDiscovery(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		r := e.do("GET", "/ServiceProviderConfig", "").must(t, 200)
		if get(r.body, "patch", "supported") != true || get(r.body, "filter", "supported") != true ||
			len(r.body["authenticationSchemes"].([]any)) == 0 {
			t.Fatalf("SPC: %s", r.raw)
		}
		r = e.do("GET", "/Schemas", "").must(t, 200)
		for _, urn := range []string{URNCore, URNEnterprise, URNDirectory, "dateOfEmployment", "payrollNumber", "groupCompanyName"} {
			if !strings.Contains(r.raw, urn) {
				t.Errorf("/Schemas lacks %s", urn)
			}
		}
		if r.body["totalResults"] != float64(3) {
			t.Fatalf("schemas: %v", r.body["totalResults"])
		}
		e.do("GET", "/Schemas/"+URNDirectory, "").must(t, 200)
		r = e.do("GET", "/ResourceTypes", "").must(t, 200)
		if !strings.Contains(r.raw, URNDirectory) || !strings.Contains(r.raw, URNEnterprise) {
			t.Fatalf("ResourceTypes: %s", r.raw)
		}
		e.do("GET", "/ResourceTypes/User", "").must(t, 200)
	})
}
