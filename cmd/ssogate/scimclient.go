package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/internal/scimcred"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
)

// scimClientCmd: ssogate scim client add|list|remove SLUG …, the OAuth 2.0
// client credentials Entra's provisioning can use instead of a long-lived
// Secret Token.
func (e *env) scimClientCmd(ctx context.Context, args []string) error {
	const usage = "usage: ssogate scim client add SLUG [--label L] [--expires 1y|2y|3y] [--client-id ID] | list SLUG | remove SLUG CLIENT_ID [--secret SECRET_ID]"
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "add":
		fs := e.newFlags("scim client add")
		label := fs.String("label", "", "a note to tell clients apart")
		expires := fs.String("expires", "1y", "how long the secret is valid: 1y, 2y or 3y")
		clientID := fs.String("client-id", "", "add a second secret to this existing client (rotation) instead of creating a client")
		slug, err := oneSlug(fs, args[1:])
		if err != nil {
			return err
		}
		years, err := scimcred.ParseSecretYears(*expires)
		if err != nil {
			return fmt.Errorf("scim client add: --expires: %w", err)
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			svc := &admin.Service{Dir: st}
			if *clientID != "" {
				sec, secret, err := svc.AddSCIMClientSecret(ctx, cliActor, c.ID, *clientID, years)
				if err != nil {
					return clientHint(err, slug)
				}
				e.printClientCredentials(e.stdout, c.Slug, *clientID, secret, sec.ExpiresAt)
				fmt.Fprintf(e.stderr, "Secret %d added to client %s; the client's other secrets stay valid until you remove them (ssogate scim client remove %s %s --secret ID). It is shown once.\n",
					sec.ID, *clientID, slug, *clientID)
				return nil
			}
			cl, secret, err := svc.AddSCIMClient(ctx, cliActor, c.ID, *label, years)
			if err != nil {
				return err
			}
			e.printClientCredentials(e.stdout, c.Slug, cl.ClientID, secret, cl.Secrets[0].ExpiresAt)
			fmt.Fprintln(e.stderr, "The client secret is shown once: paste it into Entra now (Provisioning → Admin Credentials → OAuth2 Client Credentials Grant).")
			return nil
		})
	case "list":
		slug, err := oneSlug(e.newFlags("scim client list"), args[1:])
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			list, err := st.ListSCIMClients(ctx, c.ID)
			if err != nil {
				return err
			}
			now := time.Now()
			w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CLIENT ID\tLABEL\tSECRET\tCREATED\tEXPIRES\tLAST USED\tSTATE")
			for _, cl := range list {
				if len(cl.Secrets) == 0 {
					fmt.Fprintf(w, "%s\t%s\t-\t%s\t-\t-\tno secret\n", cl.ClientID, cl.Label, cl.CreatedAt.UTC().Format(time.RFC3339))
				}
				for _, sec := range cl.Secrets {
					last, state := "never", "valid"
					if sec.LastUsed != nil {
						last = sec.LastUsed.UTC().Format(time.RFC3339)
					}
					if left := sec.ExpiresAt.Sub(now); left <= 0 {
						state = "expired"
					} else if left < 30*24*time.Hour {
						state = fmt.Sprintf("expires in %d days: add a new secret", max(int(left.Hours()/24), 1))
					}
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", cl.ClientID, cl.Label, sec.ID, sec.CreatedAt.UTC().Format(time.RFC3339),
						sec.ExpiresAt.UTC().Format("2006-01-02"), last, state)
				}
			}
			return w.Flush()
		})
	case "remove":
		fs := e.newFlags("scim client remove")
		secretID := fs.Int64("secret", 0, "remove only this secret of the client (rotation) and the access tokens issued with it")
		pos, err := parseInterleaved(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return errors.New("usage: ssogate scim client remove SLUG CLIENT_ID [--secret SECRET_ID]")
		}
		slug, clientID := strings.TrimSpace(pos[0]), strings.TrimSpace(pos[1])
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			svc := &admin.Service{Dir: st}
			if *secretID != 0 {
				if err := svc.RemoveSCIMClientSecret(ctx, cliActor, c.ID, clientID, *secretID); err != nil {
					return clientHint(err, slug)
				}
				fmt.Fprintf(e.stdout, "removed secret %d of client %s (its access tokens stop within SSOGATE_SETTINGS_TTL)\n", *secretID, clientID)
				return nil
			}
			if err := svc.RemoveSCIMClient(ctx, cliActor, c.ID, clientID); err != nil {
				return clientHint(err, slug)
			}
			fmt.Fprintf(e.stdout, "removed client %s with its secrets (its access tokens stop within SSOGATE_SETTINGS_TTL)\n", clientID)
			return nil
		})
	}
	return fmt.Errorf("unknown scim client command %q; %s", args[0], usage)
}

// clientHint tells where to look when the company has no such client or
// secret.
func clientHint(err error, slug string) error {
	switch usererr.CodeOf(err) {
	case "no_such_client", "no_such_secret":
		return fmt.Errorf("%w (ssogate scim client list %s)", err, slug)
	}
	return err
}

// printClientCredentials prints what to paste into Entra's Admin
// Credentials for the OAuth2 Client Credentials Grant.
func (e *env) printClientCredentials(w io.Writer, slug, clientID, secret string, expires time.Time) {
	base := e.cfg.PublicURL + "/c/" + slug
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Tenant URL\t%s/scim/v2\n", base)
	fmt.Fprintf(tw, "Token Endpoint\t%s/scim/oauth/token\n", base)
	fmt.Fprintf(tw, "Client Identifier\t%s\n", clientID)
	fmt.Fprintf(tw, "Client Secret\t%s\n", secret)
	fmt.Fprintf(tw, "Secret expires\t%s\n", expires.UTC().Format("2006-01-02"))
	_ = tw.Flush()
}

// showProvisioning prints, for `sso show`, what to paste into Entra's
// Provisioning → Admin Credentials in either mode.
func (e *env) showProvisioning(ctx context.Context, w io.Writer, st directory.Store, c *directory.Company) error {
	base := e.cfg.PublicURL + "/c/" + c.Slug
	toks, err := st.ListSCIMTokens(ctx, c.ID)
	if err != nil {
		return err
	}
	active := 0
	for _, t := range toks {
		if t.RevokedAt == nil {
			active++
		}
	}
	clients, err := st.ListSCIMClients(ctx, c.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nProvisioning (Enterprise app → Provisioning → Admin Credentials), either mode:")
	fmt.Fprintf(w, "  Tenant URL\t%s/scim/v2\n", base)
	fmt.Fprintf(w, "  Secret Token (long-lived token)\tssogate scim token %s (%d active)\n", c.Slug, active)
	fmt.Fprintln(w, "  or, Authentication Method: OAuth2 Client Credentials Grant:")
	fmt.Fprintf(w, "  Token Endpoint\t%s/scim/oauth/token\n", base)
	if len(clients) == 0 {
		fmt.Fprintf(w, "  Client Identifier, Client Secret\tnone yet: ssogate scim client add %s\n", c.Slug)
		return nil
	}
	now := time.Now()
	for _, cl := range clients {
		valid, next := 0, time.Time{}
		for _, sec := range cl.Secrets {
			if now.Before(sec.ExpiresAt) {
				valid++
				if next.IsZero() || sec.ExpiresAt.Before(next) {
					next = sec.ExpiresAt
				}
			}
		}
		state := fmt.Sprintf("%d valid secret(s)", valid)
		if valid > 0 {
			state += ", next expiry " + next.UTC().Format("2006-01-02")
		}
		fmt.Fprintf(w, "  Client Identifier\t%s (%s; the secret was shown once, add one with ssogate scim client add %s --client-id %s)\n",
			cl.ClientID, state, c.Slug, cl.ClientID)
	}
	return nil
}
