package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/internal/password"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso"
	"github.com/ssogate/ssogate/sso/directory"
)

// withCompany opens the directory and loads a company by slug.
func (e *env) withCompany(ctx context.Context, slug string, fn func(st directory.Store, c *directory.Company) error) error {
	st, err := e.openDirectory(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.GetCompany(ctx, slug)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("unknown company %q (create it with: ssogate company create %s --name NAME)", slug, slug)
	}
	if err != nil {
		return err
	}
	return fn(st, c)
}

// cliActor is who the audit log names for a change made with the CLI.
var cliActor = admin.Actor{Name: "cli"}

// withAudit runs write and appends its audit entry in one transaction, for
// the few changes only the CLI makes (creating a company or a setup admin).
func withAudit(ctx context.Context, st directory.Store, company func() int64, action string, write func(tx directory.Store) (string, error)) error {
	return st.InTx(ctx, func(tx directory.Store) error {
		detail, err := write(tx)
		if err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &directory.AuditEntry{CompanyID: company(), At: time.Now(), Actor: cliActor.Name, Action: action, Detail: detail})
	})
}

func (e *env) companyCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: ssogate company create SLUG --name NAME")
	}
	fs := e.newFlags("company create")
	name := fs.String("name", "", "the company's display name")
	slug, err := oneSlug(fs, args[1:])
	if err != nil {
		return err
	}
	if !directory.ValidSlug(slug) {
		return fmt.Errorf("company slug %q: %s", slug, directory.SlugRule)
	}
	if strings.TrimSpace(*name) == "" {
		*name = slug
	}
	st, err := e.openDirectory(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c := &directory.Company{Slug: slug, Name: strings.TrimSpace(*name), NameIDMode: directory.NameIDUPN, SSOEnabled: false}
	err = withAudit(ctx, st, func() int64 { return c.ID }, "company.create", func(tx directory.Store) (string, error) {
		return "name=" + c.Name, tx.CreateCompany(ctx, c)
	})
	if errors.Is(err, directory.ErrConflict) {
		return fmt.Errorf("company %q already exists", slug)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created company %s (%s)\nnext: ssogate sso show %s\n", c.Slug, c.Name, c.Slug)
	return nil
}

func (e *env) ssoCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ssogate sso show|set-cert|retire-cert|configure|refresh|encryption-rotate|encryption-cert SLUG …")
	}
	switch args[0] {
	case "show":
		slug, err := oneSlug(e.newFlags("sso show"), args[1:])
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error { return e.showSSO(ctx, st, c) })
	case "set-cert":
		fs := e.newFlags("sso set-cert")
		file := fs.String("file", "", "the certificate file Entra calls Certificate (Base64); - for stdin")
		retire := fs.Bool("retire-others", false, "make the new certificate the only trusted one")
		slug, err := oneSlug(fs, args[1:])
		if err != nil {
			return err
		}
		if *file == "" {
			return errors.New("sso set-cert: --file PATH (or - for stdin) is required")
		}
		var raw []byte
		if *file == "-" {
			raw, err = io.ReadAll(io.LimitReader(e.stdin, 1<<20))
		} else {
			raw, err = os.ReadFile(*file)
		}
		if err != nil {
			return fmt.Errorf("read certificate: %w", err)
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			res, err := (&admin.Service{Dir: st}).AddCertificate(ctx, cliActor, c.ID, string(raw), *retire)
			if certs.ReasonOf(err) != "" {
				return fmt.Errorf("certificate refused: %w", err)
			}
			if err != nil {
				return err
			}
			ct := res.Cert
			verb := "trusted"
			if res.Readded {
				verb = "trusted again"
			}
			fmt.Fprintf(e.stdout, "%s certificate %s\n  subject %s\n  expires %s\n", verb, ct.SHA1, ct.Subject, ct.NotAfter.UTC().Format(time.RFC3339))
			if !*retire {
				fmt.Fprintln(e.stdout, "  other trusted certificates were kept (rollover); retire them with --retire-others or sso retire-cert")
			}
			return nil
		})
	case "retire-cert":
		fs := e.newFlags("sso retire-cert")
		sha1 := fs.String("sha1", "", "the certificate's SHA-1 thumbprint (as Entra shows it)")
		slug, err := oneSlug(fs, args[1:])
		if err != nil {
			return err
		}
		if *sha1 == "" {
			return errors.New("sso retire-cert: --sha1 THUMBPRINT is required")
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			ct, err := (&admin.Service{Dir: st}).RetireCertificate(ctx, cliActor, c.ID, *sha1)
			if ar, ok := usererr.As(err); ok {
				return fmt.Errorf("sso retire-cert %s: %s", *sha1, ar.Message())
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "retired certificate %s\n", ct.SHA1)
			return nil
		})
	case "configure":
		fs := e.newFlags("sso configure")
		nameid := fs.String("nameid", "", "upn (match userName) or mail (match work email)")
		enabled := fs.String("enabled", "", "true or false")
		ident := fs.String("entra-identifier", "\x00", "Entra's Microsoft Entra Identifier (https://sts.windows.net/<tenant>/); empty to unset")
		login := fs.String("login-url", "\x00", "Entra's Login URL (derived from the identifier when unset)")
		name := fs.String("name", "", "the company's display name")
		slo := fs.String("slo", "", "true or false: SAML Single Logout with Entra (Entra's Logout Url honoured; signing out continues at Entra)")
		metaURL := fs.String("metadata-url", "\x00", "Entra's App Federation Metadata Url (certificates follow it); empty to remove")
		encryption := fs.String("encryption", "", "off, optional or required: token encryption (Entra's Token encryption; a key pair is made when needed)")
		slug, err := oneSlug(fs, args[1:])
		if err != nil {
			return err
		}
		var in admin.SSOSettings
		set := false
		for _, f := range []struct {
			v  *string
			to **string
		}{{nameid, &in.NameIDMode}, {name, &in.Name}} {
			if *f.v != "" {
				*f.to, set = f.v, true
			}
		}
		for _, f := range []struct {
			v  *string
			to **string
		}{{ident, &in.EntraIdentifier}, {login, &in.LoginURL}} {
			if *f.v != "\x00" {
				*f.to, set = f.v, true
			}
		}
		for _, f := range []struct {
			flag, v string
			to      **bool
		}{{"--enabled", *enabled, &in.Enabled}, {"--slo", *slo, &in.SLO}} {
			if f.v == "" {
				continue
			}
			b, err := strconv.ParseBool(f.v)
			if err != nil {
				return fmt.Errorf("%s %q: use true or false", f.flag, f.v)
			}
			*f.to, set = &b, true
		}
		metaSet := *metaURL != "\x00"
		if !set && *encryption == "" && !metaSet {
			return errors.New("sso configure: nothing to change (use --nameid, --enabled, --entra-identifier, --login-url, --slo, --metadata-url, --encryption or --name)")
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			if set {
				svc := &admin.Service{Dir: st, CheckLoginURL: func(u string) error { return sso.CheckLoginURL(u, e.cfg.IDPLoginHosts) }}
				co, changes, err := svc.ConfigureSSO(ctx, cliActor, c.ID, in)
				if ar, ok := usererr.As(err); ok {
					return fmt.Errorf("sso configure: %s", ar.Message())
				}
				if err != nil {
					return err
				}
				*c = *co
				if len(changes) == 0 {
					fmt.Fprintf(e.stdout, "%s: the settings were already so\n", c.Slug)
				} else {
					fmt.Fprintf(e.stdout, "updated %s: %s\n", c.Slug, strings.Join(changes, ", "))
				}
			}
			if *encryption != "" {
				if err := e.setEncryption(ctx, st, c, *encryption); err != nil {
					return err
				}
			}
			if metaSet {
				// After the settings, so a new Entra Identifier is what the
				// metadata is checked against.
				return e.setMetadataURL(ctx, st, c, *metaURL)
			}
			return nil
		})
	case "refresh":
		slug, err := oneSlug(e.newFlags("sso refresh"), args[1:])
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			return e.refreshNow(ctx, e.syncer(st), c, "the metadata could not be used")
		})
	case "encryption-rotate", "encryption-cert":
		return e.encryptionCmd(ctx, args[0], args[1:])
	}
	return fmt.Errorf("unknown sso command %q", args[0])
}

func (e *env) showSSO(ctx context.Context, st directory.Store, c *directory.Company) error {
	base := e.cfg.PublicURL + "/c/" + c.Slug
	w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Company\t%s (%s)\n", c.Name, c.Slug)
	fmt.Fprintf(w, "SSO enabled\t%v\n", c.SSOEnabled)
	fmt.Fprintf(w, "NameID matched by\t%s\n", c.NameIDMode)
	fmt.Fprintln(w, "\nPaste into Entra (Enterprise app → Single sign-on → SAML → Basic SAML Configuration):")
	fmt.Fprintf(w, "  Identifier (Entity ID)\t%s/saml/metadata\n", base)
	fmt.Fprintf(w, "  Reply URL (Assertion Consumer Service URL)\t%s/saml/acs\n", base)
	fmt.Fprintf(w, "  Sign on URL (optional; blank = the M365 tile signs in directly)\t%s/login\n", base)
	fmt.Fprintf(w, "  Relay State (optional)\t%s/\n", base)
	slo := "off: leave blank, or turn on with --slo true"
	if c.SLOEnabled {
		slo = "on"
	}
	fmt.Fprintf(w, "  Logout Url (optional; Single Logout %s)\t%s/saml/slo\n", slo, base)
	fmt.Fprintf(w, "  SP metadata URL\t%s/saml/metadata\n", base)
	ident := c.EntraIdentifier
	if ident == "" {
		ident = "(not set; pinned at first login: " + orNone(c.PinnedIssuer) + ")"
	}
	fmt.Fprintf(w, "\nEntra Identifier\t%s\n", ident)
	login := c.IDPLoginURL
	if login == "" {
		login = "(derived from the identifier)"
	}
	fmt.Fprintf(w, "Entra Login URL\t%s\n", login)
	showMetadata(w, c)
	if err := showEncryption(ctx, w, st, c); err != nil {
		return err
	}
	if err := e.showProvisioning(ctx, w, st, c); err != nil {
		return err
	}
	list, err := st.ListCertificates(ctx, c.ID, true)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nCertificates (thumbprint as Entra shows it):")
	if len(list) == 0 {
		fmt.Fprintln(w, "  none: download Certificate (Base64) in Entra and run ssogate sso set-cert")
	}
	for _, ct := range list {
		state := "trusted"
		if ct.Source == directory.CertSourceMetadata {
			state = "trusted (from metadata)"
			if ct.MissingSince != nil {
				state += ", not in the metadata since " + ct.MissingSince.UTC().Format("2006-01-02 15:04")
			}
		}
		if ct.RetiredAt != nil {
			state = "retired " + ct.RetiredAt.UTC().Format("2006-01-02")
		}
		used := "never used"
		if ct.LastUsedAt != nil {
			used = fmt.Sprintf("last signed a login %s (%d logins)", ct.LastUsedAt.UTC().Format(time.RFC3339), ct.UseCount)
		}
		days, level := certs.ExpiryWarning(ct.NotAfter, time.Now())
		warn := ""
		if level != "" {
			warn = fmt.Sprintf("  ⚠ %s: %d days left", level, days)
		}
		fmt.Fprintf(w, "  %s\t%s, expires %s, %s%s\n    sha256 %s\t%s\n", ct.SHA1, state, ct.NotAfter.UTC().Format("2006-01-02"), used, warn, ct.SHA256, ct.Subject)
	}
	return w.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}

func (e *env) scimCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ssogate scim token|tokens|log|client SLUG …")
	}
	switch args[0] {
	case "client":
		return e.scimClientCmd(ctx, args[1:])
	case "token":
		fs := e.newFlags("scim token")
		label := fs.String("label", "", "a note to tell tokens apart")
		revoke := fs.Int64("revoke", 0, "revoke the token with this id instead of minting one")
		slug, err := oneSlug(fs, args[1:])
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			svc := &admin.Service{Dir: st}
			if *revoke != 0 {
				if err := svc.RevokeSCIMToken(ctx, cliActor, c.ID, *revoke); err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "revoked SCIM token %d (running instances refuse it within SSOGATE_SETTINGS_TTL)\n", *revoke)
				return nil
			}
			tok, rec, err := svc.MintSCIMToken(ctx, cliActor, c.ID, *label)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, tok)
			fmt.Fprintf(e.stderr, "SCIM token %d minted for %s. It is shown once: paste it into Entra's Secret Token now.\nTenant URL: %s/c/%s/scim/v2\n", rec.ID, slug, e.cfg.PublicURL, slug)
			return nil
		})
	case "tokens":
		slug, err := oneSlug(e.newFlags("scim tokens"), args[1:])
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			list, err := st.ListSCIMTokens(ctx, c.ID)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tLABEL\tCREATED\tLAST USED\tSTATE")
			for _, t := range list {
				state := "active"
				if t.RevokedAt != nil {
					state = "revoked"
				}
				last := "never"
				if t.LastUsed != nil {
					last = t.LastUsed.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Label, t.CreatedAt.UTC().Format(time.RFC3339), last, state)
			}
			return w.Flush()
		})
	case "log":
		fs := e.newFlags("scim log")
		emp := fs.String("employee", "", "only this employee id")
		errs := fs.Bool("errors", false, "only failed requests")
		limit := fs.Int("limit", 50, "how many entries")
		slug, err := oneSlug(fs, args[1:])
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			q := directory.ProvisioningQuery{CompanyID: c.ID, EmployeeID: *emp, Limit: *limit}
			if *errs {
				q.Outcome = "error"
			}
			list, err := st.ListProvisioning(ctx, q)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "TIME\tOPERATION\tEMPLOYEE\tUSERNAME\tSTATUS\tOUTCOME\tCHANGE")
			for _, p := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.At.UTC().Format(time.RFC3339), p.Operation, p.EmployeeID, p.UserName, p.Status, p.Outcome, p.Change)
			}
			return w.Flush()
		})
	}
	return fmt.Errorf("unknown scim command %q", args[0])
}

func (e *env) adminCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: ssogate admin create SLUG --email E [--password-file PATH]")
	}
	fs := e.newFlags("admin create")
	email := fs.String("email", "", "the admin's email (their login name)")
	pwFile := fs.String("password-file", "", "read the password from this file (else it is prompted on stdin)")
	slug, err := oneSlug(fs, args[1:])
	if err != nil {
		return err
	}
	if !strings.Contains(*email, "@") {
		return errors.New("admin create: --email must be an email address")
	}
	var pw string
	if *pwFile != "" {
		b, err := os.ReadFile(*pwFile)
		if err != nil {
			return err
		}
		pw = strings.TrimRight(string(b), "\r\n")
	} else {
		fmt.Fprint(e.stderr, "password: ")
		line, err := bufio.NewReader(io.LimitReader(e.stdin, 1024)).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("admin create: no password given")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return fmt.Errorf("admin create: %w", err)
	}
	return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
		a := &directory.Admin{CompanyID: c.ID, Email: strings.TrimSpace(*email), PasswordHash: hash}
		err := withAudit(ctx, st, func() int64 { return c.ID }, "admin.create", func(tx directory.Store) (string, error) {
			return "email=" + a.Email, tx.CreateAdmin(ctx, a)
		})
		if errors.Is(err, directory.ErrConflict) {
			return fmt.Errorf("an admin %s already exists at %s", *email, slug)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created setup admin %s at %s: sign in at %s/c/%s/admin/\n", a.Email, slug, e.cfg.PublicURL, slug)
		return nil
	})
}

func (e *env) sessionsCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "revoke" {
		return errors.New("usage: ssogate sessions revoke SLUG --employee ID")
	}
	fs := e.newFlags("sessions revoke")
	emp := fs.String("employee", "", "the employee id")
	slug, err := oneSlug(fs, args[1:])
	if err != nil {
		return err
	}
	if *emp == "" {
		return errors.New("sessions revoke: --employee is required")
	}
	return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
		ss, err := e.openSessions(ctx)
		if err != nil {
			return err
		}
		defer ss.Close()
		n, err := (&admin.Service{Dir: st, Sessions: ss}).EndSessions(ctx, cliActor, c.ID, *emp)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked %d sessions and tokens\n", n)
		if e.cfg.RedisURL == "" {
			fmt.Fprintln(e.stderr, "note: SSOGATE_REDIS_URL is empty, so this reached only this process's in-process store; use the admin console of the running server instead")
		}
		return nil
	})
}
