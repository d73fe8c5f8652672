package scim

import (
	"reflect"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"
)

// TestFastFilterMatchesParser: wherever the shortcut answers, the grammar
// gives the very same expression; where the grammar refuses, the shortcut
// does not answer.
func TestFastFilterMatchesParser(t *testing.T) {
	names := []string{"userName", "externalId", "id", "displayName", "and", "eq", "or", "not", "pr", "x1", "1x", "user-name", "emails.value", "name.givenName", ""}
	ops := []string{"eq", "EQ", "Eq", "ne", "co", "eqx"}
	values := []string{`"jdoe@contoso.com"`, `""`, `"a b"`, `"ä€"`, `"x\"y"`, `"x\\y"`, `"unterminated`, `true`, `12`, `null`, `"tab	in"`}
	answered := 0
	for _, n := range names {
		for _, op := range ops {
			for _, v := range values {
				for _, s := range []string{n + " " + op + " " + v, n + "  " + op + " " + v, n + " " + op + v} {
					fast, ok := fastEqFilter(s)
					full, err := filter.ParseFilter([]byte(s))
					if !ok {
						continue
					}
					answered++
					if err != nil {
						t.Errorf("%q: the shortcut answers what the grammar refuses (%v)", s, err)
						continue
					}
					if !reflect.DeepEqual(fast, full) {
						t.Errorf("%q: shortcut %#v, grammar %#v", s, fast, full)
					}
				}
			}
		}
	}
	if answered < 20 {
		t.Fatalf("the shortcut answered only %d inputs", answered)
	}
}

func TestPathCacheReturnsTheParse(t *testing.T) {
	for _, p := range []string{`emails[type eq "work"].value`, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "name.givenName"} {
		want, err := filter.ParsePath([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			got, err := parsePathCached(p)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %#v, %v", p, got, err)
			}
		}
	}
	if _, err := parsePathCached(strings.Repeat("[", 5)); err == nil {
		t.Fatal("a bad path parsed")
	}
}
