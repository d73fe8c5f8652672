package console

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEveryReasonHasADiagnosis reads the reason codes sso declares and web
// records (the sign-ins are web's; their diagnosis is the console's), and
// checks the diagnostics page explains each with a fix.
func TestEveryReasonHasADiagnosis(t *testing.T) {
	reasons := map[string]string{}
	fs := token.NewFileSet()
	f, err := parser.ParseFile(fs, filepath.Join("..", "..", "sso", "errors.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "Reason" && len(call.Args) == 1 {
			if lit, ok := call.Args[0].(*ast.BasicLit); ok {
				v, _ := strconv.Unquote(lit.Value)
				reasons[v] = "sso/errors.go"
			}
		}
		return true
	})
	if len(reasons) < 20 {
		t.Fatalf("found only %d sso reasons", len(reasons))
	}
	// Reasons web records itself: refuseLogin/recordFailure call sites and
	// resolveEmployee's returns.
	lit := regexp.MustCompile(`(?:refuseLogin|recordFailure)\(ctx, (?:co|t\.Company), "([a-z_]+)"|return nil, "([a-z_]+)", `)
	files, _ := filepath.Glob(filepath.Join("..", "*.go"))
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lit.FindAllStringSubmatch(string(src), -1) {
			reasons[m[1]+m[2]] = name
		}
	}
	for _, want := range []string{"sso_disabled", "not_configured", "unknown_employee", "inactive_employee", "objectid_conflict", "too_large", "local_password", "wrong_issuer", "no_nameid"} {
		if _, ok := reasons[want]; !ok {
			t.Errorf("the scan missed %q", want)
		}
	}
	for r, where := range reasons {
		d, ok := diagnoses[r]
		if !ok {
			t.Errorf("reason %q (%s) has no diagnosis", r, where)
			continue
		}
		if d.Title == "" || len(d.Fix) < 40 {
			t.Errorf("reason %q: diagnosis too thin: %+v", r, d)
		}
	}
}
