package test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
)

// TestSCIMAnswersAreSCIMJSON: "the header for all the responses should be
// of content-Type: application/scim+json" (Microsoft's SCIM requirements):
// through the real router, successes and every kind of refusal alike.
func TestSCIMAnswersAreSCIMJSON(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		g := newGW(t, b)
		tok, _, err := mintSCIMToken(context.Background(), g.dir, g.company.ID, "entra")
		testenv.Must(t, err, "mint")
		user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ct@acme.example","name":{"givenName":"C","familyName":"T"}}`
		for _, c := range []struct {
			name, token, method, path, body string
			status                          int
		}{
			{"list", tok, "GET", "/c/acme/scim/v2/Users?count=1", "", 200},
			{"create", tok, "POST", "/c/acme/scim/v2/Users", user, 201},
			{"conflict", tok, "POST", "/c/acme/scim/v2/Users", user, 409},
			{"schemas", tok, "GET", "/c/acme/scim/v2/Schemas", "", 200},
			{"service provider config", tok, "GET", "/c/acme/scim/v2/ServiceProviderConfig", "", 200},
			{"unknown user", tok, "GET", "/c/acme/scim/v2/Users/nosuch", "", 404},
			{"bad filter", tok, "GET", "/c/acme/scim/v2/Users?filter=title+co+%22x%22", "", 400},
			{"bad token", "wrong", "GET", "/c/acme/scim/v2/Users", "", 401},
			{"method", tok, "DELETE", "/c/acme/scim/v2/Users", "", 405},
			{"unknown company", tok, "GET", "/c/nosuch/scim/v2/Users", "", 404},
		} {
			var rd io.Reader
			if c.body != "" {
				rd = strings.NewReader(c.body)
			}
			req, _ := http.NewRequest(c.method, g.URL+c.path, rd)
			req.Header.Set("Authorization", "Bearer "+c.token)
			if c.body != "" {
				req.Header.Set("Content-Type", "application/scim+json")
			}
			resp, err := http.DefaultClient.Do(req)
			testenv.Must(t, err, "%s", c.name)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/scim+json") {
				t.Errorf("%s: %d %q, want %d application/scim+json\n%s", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, body)
			}
		}
	})
}
