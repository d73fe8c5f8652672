package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ssogate/ssogate/internal/oauthsyntax"
	"github.com/ssogate/ssogate/sso/directory"
)

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

var _ flag.Value = (*multiFlag)(nil)

func (e *env) oauthCmd(ctx context.Context, args []string) error {
	if len(args) < 2 || args[0] != "client" {
		return errors.New("usage: ssogate oauth client add|list|remove SLUG …")
	}
	switch args[1] {
	case "add":
		fs := e.newFlags("oauth client add")
		id := fs.String("client-id", "", "the client id the app sends")
		name := fs.String("name", "", "a display name")
		var uris multiFlag
		fs.Var(&uris, "redirect-uri", "an allowed redirect URI (repeat for several)")
		slug, err := oneSlug(fs, args[2:])
		if err != nil {
			return err
		}
		if *id == "" || len(*id) > 128 || strings.ContainsAny(*id, " \t\r\n") {
			return errors.New("oauth client add: --client-id is required (no spaces, at most 128 characters)")
		}
		if len(uris) == 0 {
			return errors.New("oauth client add: at least one --redirect-uri is required")
		}
		for _, u := range uris {
			if err := oauthsyntax.CheckRedirectURI(u); err != nil {
				return err
			}
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			cl := &directory.OAuthClient{CompanyID: c.ID, ClientID: *id, Name: *name, RedirectURIs: uris, CreatedAt: time.Now()}
			if err := st.AddOAuthClient(ctx, cl); err != nil {
				if errors.Is(err, directory.ErrConflict) {
					return fmt.Errorf("client %q already exists at %s", *id, slug)
				}
				return err
			}
			_ = audit(ctx, st, c, "oauth.client.add", "client_id="+*id+" redirect_uris="+strings.Join(uris, " "))
			fmt.Fprintf(e.stdout, "registered client %s at %s\n  authorize: %s/c/%s/oauth/authorize\n  token:     %s/c/%s/oauth/token\n",
				*id, slug, e.cfg.PublicURL, slug, e.cfg.PublicURL, slug)
			return nil
		})
	case "list":
		slug, err := oneSlug(e.newFlags("oauth client list"), args[2:])
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			list, err := st.ListOAuthClients(ctx, c.ID)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CLIENT ID\tNAME\tREDIRECT URIS")
			for _, cl := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\n", cl.ClientID, cl.Name, strings.Join(cl.RedirectURIs, " "))
			}
			return w.Flush()
		})
	case "remove":
		fs := e.newFlags("oauth client remove")
		id := fs.String("client-id", "", "the client to remove")
		slug, err := oneSlug(fs, args[2:])
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			if err := st.RemoveOAuthClient(ctx, c.ID, *id); err != nil {
				if errors.Is(err, directory.ErrNotFound) {
					return fmt.Errorf("no client %q at %s", *id, slug)
				}
				return err
			}
			_ = audit(ctx, st, c, "oauth.client.remove", "client_id="+*id)
			fmt.Fprintf(e.stdout, "removed client %s\n", *id)
			return nil
		})
	}
	return fmt.Errorf("unknown oauth client command %q", args[1])
}
