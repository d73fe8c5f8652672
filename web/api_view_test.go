package web

import (
	"encoding/json"
	"testing"

	"github.com/ssogate/ssogate/sso/directory"
)

func TestViewCache(t *testing.T) {
	var vc viewCache
	e := &directory.Employee{ID: "e1", UserName: "maja@acme.example", GivenName: "Maja", Active: true}
	a, err := vc.render("acme", e, true)
	if err != nil {
		t.Fatal(err)
	}
	var v employeeView
	if err := json.Unmarshal(a, &v); err != nil || v.ID != "e1" || v.Company != "acme" || v.GivenName != "Maja" {
		t.Fatalf("rendered %s (%v)", a, err)
	}
	b, _ := vc.render("acme", e, true)
	if &a[0] != &b[0] {
		t.Fatal("the same record was rendered again")
	}
	// A new record (the employee cache read the row again) is rendered anew.
	e2 := *e
	e2.GivenName = "Maya"
	c, _ := vc.render("acme", &e2, true)
	if err := json.Unmarshal(c, &v); err != nil || v.GivenName != "Maya" {
		t.Fatalf("a changed record answered %s", c)
	}
	// Another company's slug never shares an answer.
	d, _ := vc.render("other", &e2, true)
	if err := json.Unmarshal(d, &v); err != nil || v.Company != "other" {
		t.Fatalf("another slug answered %s", d)
	}
	// Without the employee cache nothing is kept.
	var off viewCache
	if _, err := off.render("acme", e, false); err != nil || off.c != nil {
		t.Fatal("kept an answer with the cache off")
	}
}
