package test

import (
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// serviceOwned are the directory.Store write methods behind operations the
// admin package owns (certificate add and retire, SSO configure, employee
// create and update, local passwords, department approvers, the metadata
// URL, SCIM tokens and clients, the mobile app's OAuth clients): the CLI
// and the console call admin.Service for them.
var serviceOwned = map[string]bool{
	"AddCertificate": true, "RetireCertificate": true, "UpdateCompanySettings": true,
	"CreateEmployee": true, "UpdateEmployee": true,
	"AddDepartmentApprover": true, "RemoveDepartmentApprover": true,
	"AddSCIMToken": true, "RevokeSCIMToken": true,
	"AddSCIMClient": true, "AddSCIMClientSecret": true, "RemoveSCIMClient": true, "RemoveSCIMClientSecret": true,
	"AddOAuthClient": true, "RemoveOAuthClient": true, "SetMetadataURL": true, "SetEmployeePassword": true,
}

// serviceWriteAllowed are the calls that remain, each with why it is not
// (yet) a service operation. Key: file (relative to the module), the
// enclosing top-level function and the method.
var serviceWriteAllowed = map[string]string{
	// `ssogate demo` seeds a throwaway directory for the demo IdP's users.
	"cmd/ssogate/demo.go seedDemo CreateEmployee": "demo seed",
}

// TestFrontEndsUseTheService keeps docs/architecture.md's "one home per
// business rule": the front-ends (cmd/ssogate, web and the console,
// web/console) do not call the directory's write methods for operations
// admin.Service owns. It type-checks the three packages against the compiler's export data, so a call on a directory.Store is
// told apart from the service method of the same name.
func TestFrontEndsUseTheService(t *testing.T) {
	root := moduleRoot(t)
	found := serviceWrites(t, root, "./cmd/ssogate", "./web", "./web/console")
	if len(found) == 0 {
		t.Fatal("the scan found no directory write at all: it is not looking")
	}
	var bad []string
	used := map[string]bool{}
	for _, f := range found {
		if _, ok := serviceWriteAllowed[f.key]; ok {
			used[f.key] = true
			continue
		}
		bad = append(bad, f.pos)
	}
	sort.Strings(bad)
	for _, p := range bad {
		t.Errorf("%s: a front-end writes to the directory itself; call admin.Service (or justify an entry in serviceWriteAllowed)", p)
	}
	for k := range serviceWriteAllowed {
		if !used[k] {
			t.Errorf("serviceWriteAllowed has %q, which no longer matches a call: remove it", k)
		}
	}
}

// TestServiceWriteScanFindsCalls proves the scan sees a call that is added
// back: a package calling st.UpdateEmployee and st.AddCertificate on a
// directory.Store is reported twice; one calling the admin service is not.
func TestServiceWriteScanFindsCalls(t *testing.T) {
	root := moduleRoot(t)
	src := `package scanprobe

import (
	"context"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/sso/directory"
)

func Direct(ctx context.Context, st directory.Store, e *directory.Employee, c *directory.Certificate) error {
	if err := st.UpdateEmployee(ctx, e); err != nil {
		return err
	}
	return st.InTx(ctx, func(tx directory.Store) error { return tx.AddCertificate(ctx, c, false) })
}

func Service(ctx context.Context, svc *admin.Service) error {
	_, err := svc.AddCertificate(ctx, admin.Actor{Name: "x"}, 1, "", false)
	return err
}
`
	// The probe package exists only in a go build overlay: nothing is
	// written into the tree.
	tmp := t.TempDir()
	real := filepath.Join(tmp, "probe.go")
	if err := os.WriteFile(real, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	virtual := filepath.Join(root, "internal", "scanprobe", "probe.go")
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {virtual: real}})
	if err != nil {
		t.Fatal(err)
	}
	ov := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	found := serviceWrites(t, root, "-overlay="+ov, "./internal/scanprobe")
	if len(found) != 2 {
		t.Fatalf("the scan found %d writes in the probe, want 2: %+v", len(found), found)
	}
}

type serviceWrite struct{ key, pos string }

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// serviceWrites type-checks the packages (non-test files) and returns every
// call of a serviceOwned method declared by sso/directory (the Store
// interface) or its SQL implementation.
func serviceWrites(t *testing.T, root string, pkgs ...string) []serviceWrite {
	t.Helper()
	args := append([]string{"list", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,Export,DepOnly"}, pkgs...)
	replace := map[string]string{}
	if o, ok := strings.CutPrefix(pkgs[0], "-overlay="); ok {
		pkgs = pkgs[1:]
		var ov struct{ Replace map[string]string }
		raw, err := os.ReadFile(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &ov); err != nil {
			t.Fatal(err)
		}
		replace = ov.Replace
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	type pkg struct {
		ImportPath, Dir, Export string
		GoFiles                 []string
		DepOnly                 bool
	}
	exports := map[string]string{}
	var targets []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly {
			targets = append(targets, p)
		}
	}
	if len(targets) != len(pkgs) {
		t.Fatalf("go list gave %d packages for %v", len(targets), pkgs)
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
	var found []serviceWrite
	for _, p := range targets {
		var files []*ast.File
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			var src any
			if r, ok := replace[path]; ok {
				b, err := os.ReadFile(r)
				if err != nil {
					t.Fatal(err)
				}
				src = b
			}
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}, Uses: map[*ast.Ident]types.Object{}}
		if _, err := (&types.Config{Importer: imp}).Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", p.ImportPath, err)
		}
		for _, f := range files {
			var fn string // the enclosing top-level function
			ast.Inspect(f, func(n ast.Node) bool {
				if d, ok := n.(*ast.FuncDecl); ok {
					fn = d.Name.Name
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !serviceOwned[sel.Sel.Name] {
					return true
				}
				obj := info.Uses[sel.Sel]
				if obj == nil || obj.Pkg() == nil {
					return true
				}
				if path := obj.Pkg().Path(); path != mod+"/sso/directory" && path != mod+"/sso/directory/sqlstore" {
					return true
				}
				pos := fset.Position(call.Pos())
				rel, _ := filepath.Rel(root, pos.Filename)
				rel = filepath.ToSlash(rel)
				found = append(found, serviceWrite{key: rel + " " + fn + " " + sel.Sel.Name, pos: rel + ":" + strconv.Itoa(pos.Line)})
				return true
			})
		}
	}
	return found
}
