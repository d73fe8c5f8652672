package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

const (
	urnCore       = "urn:ietf:params:scim:schemas:core:2.0:User"
	urnEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	urnPatch      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

type scimFlags struct {
	common
	base, tokenFile, token string
}

func (f *scimFlags) parse(name string, args []string, extra func(fs *flag.FlagSet)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	f.common.register(fs, 2000, 4)
	fs.StringVar(&f.base, "base", "", "SCIM base URL (Entra's Tenant URL), e.g. http://127.0.0.1:8080/c/bench/scim/v2")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the SCIM bearer token (seed writes DIR/scim-token)")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.base == "" || f.tokenFile == "" {
		return errors.New(name + ": -base and -token-file are required")
	}
	if _, err := loopbackOnly(f.base); err != nil {
		return err
	}
	b, err := os.ReadFile(f.tokenFile)
	if err != nil {
		return err
	}
	f.token = strings.TrimSpace(string(b))
	f.base = strings.TrimSuffix(f.base, "/")
	return nil
}

// scimAnswer is what the driver reads of a SCIM answer: decoding into a
// small struct, not a map of everything, keeps the driver's own CPU (which
// shares the cores with the server) low.
type scimAnswer struct {
	ID           string `json:"id"`
	TotalResults *int   `json:"totalResults"`
}

func (f *scimFlags) do(ctx context.Context, cl *http.Client, method, path, body string, want int) (*scimAnswer, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, f.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Accept", "application/scim+json")
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, resp.StatusCode, raw)
	}
	out := &scimAnswer{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return out, nil
}

// total is the answer's totalResults, -1 when it has none.
func (a *scimAnswer) total() int {
	if a.TotalResults == nil {
		return -1
	}
	return *a.TotalResults
}

func filterPath(userName string) string {
	return "/Users?filter=" + url.QueryEscape(`userName eq "`+userName+`"`)
}

// entraUser is the body Entra POSTs for a new user (its default mappings).
func entraUser(upn, ext string, i int) string {
	b, _ := json.Marshal(map[string]any{
		"schemas": []string{urnCore, urnEnterprise}, "externalId": ext, "userName": upn, "active": true,
		"displayName": fmt.Sprintf("Sync User %d", i),
		"name":        map[string]any{"formatted": fmt.Sprintf("Sync User %d", i), "familyName": fmt.Sprintf("User %d", i), "givenName": "Sync"},
		"emails":      []any{map[string]any{"primary": true, "type": "work", "value": upn}},
		"title":       "Engineer", "preferredLanguage": "da-DK",
		"addresses":   []any{map[string]any{"type": "work", "primary": true, "country": "DK"}},
		urnEnterprise: map[string]any{"department": fmt.Sprintf("Dept %d", i%40), "employeeNumber": fmt.Sprint(100000 + i)},
	})
	return string(b)
}

func scimCmd(ctx context.Context, args []string) error {
	var f scimFlags
	prefix := fmt.Sprintf("s%d", time.Now().Unix())
	if err := f.parse("scim", args, func(fs *flag.FlagSet) {
		fs.StringVar(&prefix, "prefix", prefix, "userName prefix of the synced employees (unique per run)")
	}); err != nil {
		return err
	}
	if err := f.startServer(ctx, waitURLFor(f.base)); err != nil {
		return err
	}
	defer f.stopServer()
	cl := newClient(f.c)
	// Managers: every tenth employee manages the next nine, as ids become
	// known (Entra PATCHes the manager reference once both exist).
	var mu sync.Mutex
	ids := make([]string, f.n)
	r, err := f.drive(ctx, "scim", f.base, func(ctx context.Context, i int) (int, error) {
		if i < 0 {
			return 0, nil
		}
		upn := fmt.Sprintf("%s-%06d@bench.example", prefix, i)
		lst, err := f.do(ctx, cl, http.MethodGet, filterPath(upn), "", http.StatusOK)
		if err != nil {
			return 1, err
		}
		if n := lst.total(); n != 0 {
			return 1, fmt.Errorf("filter for a new user found %d", n)
		}
		u, err := f.do(ctx, cl, http.MethodPost, "/Users", entraUser(upn, fmt.Sprintf("%s-%06d", prefix, i), i), http.StatusCreated)
		if err != nil {
			return 2, err
		}
		id := u.ID
		if id == "" {
			return 2, errors.New("POST answered without an id")
		}
		mu.Lock()
		ids[i] = id
		mgr := ids[i-i%10]
		mu.Unlock()
		if mgr == "" || mgr == id {
			mgr = ids[0] // not known yet (or the manager itself): the first employee
			if mgr == "" || mgr == id {
				return 2, nil
			}
		}
		patch := `{"schemas":["` + urnPatch + `"],"Operations":[{"op":"Add","path":"` + urnEnterprise + `:manager","value":"` + mgr + `"}]}`
		// Entra's PATCH answers 204 or 200 depending on the server; ours answers 200.
		if _, err := f.do(ctx, cl, http.MethodPatch, "/Users/"+id, patch, http.StatusOK); err != nil {
			return 3, err
		}
		return 3, nil
	})
	if err != nil {
		return err
	}
	return f.emit(r)
}

func lookupCmd(ctx context.Context, args []string) error {
	var f scimFlags
	employees := 1000
	if err := f.parse("lookup", args, func(fs *flag.FlagSet) {
		fs.IntVar(&employees, "employees", employees, "existing employees ("+userFmt+") to look up at random")
	}); err != nil {
		return err
	}
	if err := f.startServer(ctx, waitURLFor(f.base)); err != nil {
		return err
	}
	defer f.stopServer()
	cl := newClient(f.c)
	r, err := f.drive(ctx, "lookup", f.base, func(ctx context.Context, i int) (int, error) {
		if i < 0 {
			i = -i
		}
		// Entra writes userName as it is in Entra; matching is case-insensitive.
		upn := strings.ToUpper(fmt.Sprintf(userFmt, (i*7919)%max(1, employees)))
		lst, err := f.do(ctx, cl, http.MethodGet, filterPath(upn), "", http.StatusOK)
		if err != nil {
			return 1, err
		}
		if n := lst.total(); n != 1 {
			return 1, fmt.Errorf("lookup of %s found %d employees", upn, n)
		}
		return 1, nil
	})
	if err != nil {
		return err
	}
	r.Note = strings.TrimSpace(fmt.Sprintf("%d employees %s", employees, r.Note))
	return f.emit(r)
}
