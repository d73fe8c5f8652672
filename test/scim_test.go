package test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
)

// scimCall sends one SCIM request like Entra's provisioning service.
func (g *gw) scimCall(t *testing.T, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.URL+"/c/acme/scim/v2"+path, rd)
	testenv.Must(t, err, "request")
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	resp, err := http.DefaultClient.Do(req)
	testenv.Must(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// rawGet sends a request line exactly as given (Entra leaves double quotes
// unencoded in the query), which net/http's client would re-encode.
func (g *gw) rawGet(t *testing.T, token, target string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	testenv.Must(t, err, "dial")
	defer conn.Close()
	_, err = io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: "+strings.TrimPrefix(g.URL, "http://")+
		"\r\nAuthorization: Bearer "+token+"\r\nConnection: close\r\n\r\n")
	testenv.Must(t, err, "write")
	b, _ := io.ReadAll(conn)
	return string(b)
}

func TestSCIMThroughTheGatewayRevokesAccessAndFeedsApprovers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		ctx := context.Background()
		tok, _, err := mintSCIMToken(ctx, g.dir, g.company.ID, "entra")
		testenv.Must(t, err, "mint")

		// Test Connection, with Entra's raw quotes and + for spaces.
		raw := g.rawGet(t, tok, `/c/acme/scim/v2/Users?filter=userName+eq+"7c1bd1b7-0e3f-4a4e-b1e5-3b0f1b2e9f00"`)
		if !strings.HasPrefix(raw, "HTTP/1.1 200") || !strings.Contains(raw, `"totalResults":0`) {
			t.Fatalf("test connection:\n%s", raw)
		}
		if code, _ := g.scimCall(t, "wrong", "GET", "/Users", ""); code != http.StatusUnauthorized {
			t.Fatalf("wrong token: %d", code)
		}
		// Entra creates a manager and a report, then links them.
		code, mgr := g.scimCall(t, tok, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"Ole.Boss@acme.example","active":true,"name":{"givenName":"Ole","familyName":"Boss"},
			"emails":[{"primary":true,"type":"work","value":"ole@acme.example"}]}`)
		if code != http.StatusCreated {
			t.Fatalf("POST manager: %d %v", code, mgr)
		}
		// Maja was imported from a spreadsheet: Entra's POST links her.
		code, maja := g.scimCall(t, tok, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"maja.holm@acme.example","active":"True","name":{"givenName":"Maja","familyName":"Holm"},"title":"Payroll"}`)
		if code != http.StatusCreated {
			t.Fatalf("POST linking maja: %d %v", code, maja)
		}
		imported, err := g.dir.FindEmployeeByUserName(ctx, g.company.ID, "maja.holm@acme.example")
		testenv.Must(t, err, "find maja")
		if maja["id"] != imported.ID {
			t.Fatalf("linking must keep the imported id %s, got %v", imported.ID, maja["id"])
		}
		code, _ = g.scimCall(t, tok, "PATCH", "/Users/"+imported.ID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+mgr["id"].(string)+`"}]}`)
		if code != http.StatusOK && code != http.StatusNoContent {
			t.Fatalf("PATCH manager: %d", code)
		}
		// Maja signs in and reads her approvers: Entra's manager.
		br := newBrowser()
		if r := g.postACS(br, "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", r.StatusCode)
		}
		resp, err := br.Get(g.URL + "/c/acme/api/employees/" + imported.ID + "/approvers")
		testenv.Must(t, err, "approvers")
		var ap struct {
			Approvers []struct{ ID, UserName, Kind string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&ap)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(ap.Approvers) != 1 || ap.Approvers[0].ID != mgr["id"] || ap.Approvers[0].Kind != "manager" {
			t.Fatalf("approvers: %d %+v", resp.StatusCode, ap)
		}
		// She may not read someone else's approvers (she is no admin).
		resp, err = br.Get(g.URL + "/c/acme/api/employees/" + mgr["id"].(string) + "/approvers")
		testenv.Must(t, err, "other approvers")
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("another employee's approvers: %d", resp.StatusCode)
		}
		// Entra suspends her: her session dies at once, sign-in is refused.
		code, _ = g.scimCall(t, tok, "PATCH", "/Users/"+imported.ID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
		if code != http.StatusOK && code != http.StatusNoContent {
			t.Fatalf("soft delete: %d", code)
		}
		if code, _ := g.me(br, "acme"); code != http.StatusUnauthorized {
			t.Fatalf("session survived the suspension: %d", code)
		}
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("suspended employee signed in: %d", r.StatusCode)
		}
		// Reactivated, then hard-deleted: unknown afterwards.
		g.scimCall(t, tok, "PATCH", "/Users/"+imported.ID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`)
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("reactivated employee refused: %d", r.StatusCode)
		}
		if code, _ := g.scimCall(t, tok, "DELETE", "/Users/"+imported.ID, ""); code != http.StatusNoContent {
			t.Fatalf("DELETE: %d", code)
		}
		if r := g.postACS(newBrowser(), "acme", g.signed(g.assertion("acme", "maja.holm@acme.example")), ""); r.StatusCode != http.StatusForbidden {
			t.Fatalf("deleted employee signed in: %d", r.StatusCode)
		}
		if ev := g.lastSignIn(t, g.company); ev.Reason != "unknown_employee" {
			t.Fatalf("reason %q", ev.Reason)
		}
		// Another company's SCIM URL does not take this token.
		g.createCompany("globex", "Globex", g.idp)
		req, _ := http.NewRequest("GET", g.URL+"/c/globex/scim/v2/Users", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r2, err := http.DefaultClient.Do(req)
		testenv.Must(t, err, "globex")
		r2.Body.Close()
		if r2.StatusCode != http.StatusUnauthorized {
			t.Fatalf("acme's token at globex: %d", r2.StatusCode)
		}
		// Operators see provisioning in the metrics.
		mr, err := http.Get(g.metricsURL + "/metrics")
		testenv.Must(t, err, "metrics")
		m := body(t, mr)
		mr.Body.Close()
		for _, want := range []string{`ssogate_scim_requests_total{method="POST",status="201"} 2`,
			`ssogate_scim_requests_total{method="DELETE",status="204"} 1`, `ssogate_scim_requests_total{method="GET",status="401"}`} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}
