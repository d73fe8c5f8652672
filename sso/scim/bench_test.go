package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/sso/directory"
)

// BenchmarkInitialSync replays Entra's initial cycle per employee: GET by
// userName filter (no match) → POST → PATCH manager (an earlier
// employee's manager in a 10-ary tree, as in a real organisation). Run with -benchtime=10000x for the 10,000-employee figure.
func BenchmarkInitialSync(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be.open(b))
			ids := make([]string, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				upn := fmt.Sprintf("user%06d@contoso.com", i)
				if r := e.do("GET", `/Users?filter=userName+eq+"`+upn+`"`, ""); r.code != 200 {
					b.Fatalf("filter: %d", r.code)
				}
				r := e.do("POST", "/Users", user(upn, "Given", fmt.Sprint(i)))
				if r.code != 201 {
					b.Fatalf("post: %s", r.raw)
				}
				id := r.body["id"].(string)
				ids = append(ids, id)
				if i > 0 {
					mgr := ids[(i-1)/10]
					if r := e.do("PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"`+mgrPath+`","value":"`+mgr+`"}`)); r.code != 200 {
						b.Fatalf("patch: %s", r.raw)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "employees/s")
		})
	}
}

// BenchmarkFilterLookup measures a userName filter at 1,000 and 100,000
// employees (index-backed: the two should be close).
func BenchmarkFilterLookup(b *testing.B) {
	for _, be := range backends() {
		for _, n := range []int{1000, 100000} {
			b.Run(fmt.Sprintf("%s/%d", be.name, n), func(b *testing.B) {
				e := newEnv(b, be.open(b))
				ctx := context.Background()
				const batch = 5000
				for start := 0; start < n; start += batch {
					err := e.st.InTx(ctx, func(tx directory.Store) error {
						for i := start; i < min(n, start+batch); i++ {
							emp := &directory.Employee{CompanyID: e.c.ID, UserName: fmt.Sprintf("u%06d@contoso.com", i),
								Email: fmt.Sprintf("u%06d@contoso.com", i), GivenName: "G", FamilyName: "F",
								ExternalID: fmt.Sprintf("u%06d", i), Active: true, Source: directory.SourceSCIM, EntraLinked: true}
							if err := tx.CreateEmployee(ctx, emp); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				w := httptest.NewRecorder()
				b.ResetTimer()
				for i := range b.N {
					upn := fmt.Sprintf("U%06d@Contoso.com", (i*7919)%n)
					r := httptest.NewRequest("GET", `/c/acme/scim/v2/Users?filter=userName+eq+"`+upn+`"`, nil)
					r.Header.Set("Authorization", "Bearer "+e.token)
					w.Body.Reset()
					e.h.ServeCompany(w, r, e.c, "/Users", testBase)
					if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"totalResults":1`) {
						b.Fatalf("lookup: %d %s", w.Code, w.Body.String())
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/lookup")
			})
		}
	}
}
