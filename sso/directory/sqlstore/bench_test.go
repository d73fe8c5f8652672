package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/sso/directory/sqlstore"
)

// benchStores opens one store per dialect for a benchmark.
var benchDialects = []struct {
	name string
	url  func(b *testing.B) string
}{
	{"sqlite", func(b *testing.B) string { return sqliteURL(b) }},
	{"postgres", func(b *testing.B) string { return testenv.PostgresURL(b) }},
}

// seed creates a company with n employees in one transaction.
func seed(b *testing.B, s *sqlstore.Store, n int) int64 {
	b.Helper()
	ctx := context.Background()
	c := &directory.Company{Slug: "bench", Name: "Bench"}
	if err := s.CreateCompany(ctx, c); err != nil {
		b.Fatal(err)
	}
	err := s.InTx(ctx, func(tx directory.Store) error {
		for i := range n {
			e := &directory.Employee{CompanyID: c.ID, UserName: fmt.Sprintf("User%06d@Contoso.com", i),
				Email: fmt.Sprintf("user%06d@contoso.com", i), GivenName: "Given", FamilyName: fmt.Sprintf("Family %d", i),
				Department: fmt.Sprintf("Dept %d", i%50), ExternalID: fmt.Sprintf("user%06d", i), Active: true,
				Source: directory.SourceSCIM, EntraLinked: true}
			if err := tx.CreateEmployee(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return c.ID
}

// BenchmarkFindEmployeeByUserName compares lookups in 1,000 and 100,000
// employees: an index-backed lookup should barely notice the difference.
func BenchmarkFindEmployeeByUserName(b *testing.B) {
	for _, d := range benchDialects {
		for _, n := range []int{1000, 100000} {
			b.Run(fmt.Sprintf("%s/%d", d.name, n), func(b *testing.B) {
				s := openURL(b, d.url(b))
				company := seed(b, s, n)
				ctx := context.Background()
				i := 0
				for b.Loop() {
					// Mixed case and spaces: the folded key is what is looked up.
					name := fmt.Sprintf(" USER%06d@contoso.COM", (i*7919)%n)
					if _, err := s.FindEmployeeByUserName(ctx, company, name); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkFindEmployeeByUserNameParallel measures concurrent readers
// (SQLite: the query-only pool next to the single writer).
func BenchmarkFindEmployeeByUserNameParallel(b *testing.B) {
	for _, d := range benchDialects {
		b.Run(d.name, func(b *testing.B) {
			s := openURL(b, d.url(b))
			company := seed(b, s, 1000)
			ctx := context.Background()
			var next atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					if _, err := s.FindEmployeeByUserName(ctx, company, fmt.Sprintf("user%06d@contoso.com", i%1000)); err != nil {
						b.Error(err) // FailNow is for the benchmark's own goroutine
						return
					}
				}
			})
		})
	}
}

// BenchmarkCreateEmployee measures single inserts (each its own
// transaction), one writer and then many goroutines.
func BenchmarkCreateEmployee(b *testing.B) {
	for _, d := range benchDialects {
		for _, parallel := range []bool{false, true} {
			name := d.name + "/serial"
			if parallel {
				name = d.name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				s := openURL(b, d.url(b))
				company := seed(b, s, 0)
				ctx := context.Background()
				var next atomic.Int64
				create := func() bool {
					i := next.Add(1)
					e := &directory.Employee{CompanyID: company, UserName: fmt.Sprintf("new%d@contoso.com", i),
						Email: fmt.Sprintf("new%d@contoso.com", i), GivenName: "New", FamilyName: "Employee", Active: true}
					if err := s.CreateEmployee(ctx, e); err != nil {
						b.Error(err) // not Fatal: it may run on RunParallel's goroutines
						return false
					}
					return true
				}
				b.ResetTimer()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() && create() {
						}
					})
					return
				}
				for range b.N {
					if !create() {
						return
					}
				}
			})
		}
	}
}
