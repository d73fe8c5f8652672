package sqlstore

import (
	"context"
	"testing"

	"github.com/ssogate/ssogate/sso/directory"
)

// TestTransactionStatementsArePreparedOnce: a query first met inside a
// transaction is prepared on the writer pool after the commit, so the next
// transaction reuses it instead of parsing the SQL again.
func TestTransactionStatementsArePreparedOnce(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+t.TempDir()+"/p.db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &directory.Company{Slug: "p", Name: "P"}
	if err := s.CreateCompany(ctx, c); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		s.wstmts.Range(func(any, any) bool { n++; return true })
		return n
	}
	write := func(i int) {
		err := s.InTx(ctx, func(tx directory.Store) error {
			e := &directory.Employee{CompanyID: c.ID, UserName: "u" + string(rune('a'+i)) + "@p.example"}
			if err := tx.CreateEmployee(ctx, e); err != nil {
				return err
			}
			e.Title = "x"
			return tx.UpdateEmployee(ctx, e)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	before := count()
	write(0)
	after := count()
	if after <= before {
		t.Fatalf("no statement was promoted to the pool (%d → %d)", before, after)
	}
	write(1)
	if again := count(); again != after {
		t.Fatalf("the second transaction prepared again (%d → %d)", after, again)
	}
}
