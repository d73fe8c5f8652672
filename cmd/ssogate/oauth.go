package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ssogate/ssogate/admin"
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
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			if _, err := (&admin.Service{Dir: st}).AddOAuthClient(ctx, cliActor, c.ID, *id, *name, uris); err != nil {
				return err
			}
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
			if err := (&admin.Service{Dir: st}).RemoveOAuthClient(ctx, cliActor, c.ID, *id); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "removed client %s\n", *id)
			return nil
		})
	}
	return fmt.Errorf("unknown oauth client command %q", args[1])
}
