package sqlstore

import "testing"

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT a FROM t WHERE b = ? AND c = ?`:               `SELECT a FROM t WHERE b = $1 AND c = $2`,
		`SELECT '?' , ? FROM t`:                               `SELECT '?' , $1 FROM t`,
		`SELECT 'it''s ?', ?`:                                 `SELECT 'it''s ?', $1`,
		`SELECT E'a\'?b', ?`:                                  `SELECT E'a\'?b', $1`,
		`SELECT "we?rd" FROM t WHERE x = ?`:                   `SELECT "we?rd" FROM t WHERE x = $1`,
		"SELECT 1 -- why?\nWHERE x = ?":                       "SELECT 1 -- why?\nWHERE x = $1",
		`SELECT /* a ? here */ ?`:                             `SELECT /* a ? here */ $1`,
		`SELECT $$ a ? $$, $q$ ? $q$, ?`:                      `SELECT $$ a ? $$, $q$ ? $q$, $1`,
		`SELECT extra ?? 'k', extra ??| ARRAY['a'] WHERE ?`:   `SELECT extra ? 'k', extra ?| ARRAY['a'] WHERE $1`,
		`INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`: `INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		`SELECT 'unterminated ?`:                              `SELECT 'unterminated ?`,
	} {
		if got := rebind(in); got != want {
			t.Errorf("rebind(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
