package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web"
)

// Token encryption commands: `sso configure --encryption`, `sso
// encryption-rotate`, `sso encryption-cert`, and the lines of `sso show`.

// encryptionService is the admin service with the gateway's way of making
// (and sealing) token encryption key pairs.
func (e *env) encryptionService(st directory.Store) *admin.Service {
	return &admin.Service{Dir: st, NewEncryptionKey: func(co *directory.Company, now time.Time) (*directory.EncryptionKey, error) {
		return web.MakeEncryptionKey(co, e.cfg.SigningKeySecret, now)
	}}
}

// setEncryption sets the token encryption policy (admin.SetTokenEncryption:
// a key pair is made when it is turned on and none is live) and re-reads c.
func (e *env) setEncryption(ctx context.Context, st directory.Store, c *directory.Company, mode string) error {
	k, err := e.encryptionService(st).SetTokenEncryption(ctx, cliActor, c.ID, mode)
	if ar, ok := usererr.As(err); ok && ar.Kind() == usererr.Invalid {
		return fmt.Errorf("--encryption %q: use off, optional or required", mode)
	}
	if err != nil {
		return err
	}
	change := "encryption=" + strings.ToLower(strings.TrimSpace(mode))
	if k != nil {
		change += " new_key=" + k.SHA1
	}
	fmt.Fprintf(e.stdout, "updated %s: %s\n", c.Slug, change)
	co, err := st.GetCompanyByID(ctx, c.ID)
	if err != nil {
		return err
	}
	*c = *co
	return nil
}

func (e *env) encryptionCmd(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "encryption-rotate":
		fs := e.newFlags("sso encryption-rotate")
		finish := fs.Bool("finish", false, "end the rollover: retire every encryption key but the newest (after Entra uses the new certificate)")
		slug, err := oneSlug(fs, args)
		if err != nil {
			return err
		}
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			svc := e.encryptionService(st)
			if *finish {
				kept, retired, err := svc.FinishEncryptionRollover(ctx, cliActor, c.ID)
				if errors.Is(err, admin.ErrNoRollover) {
					return errors.New("sso encryption-rotate --finish: no rollover in progress (one key or none)")
				}
				if err != nil {
					return err
				}
				if kept.LastUsedAt == nil {
					fmt.Fprintf(e.stdout, "note: the new certificate %s has not decrypted a sign-in yet; check that Entra's active Token encryption certificate is it\n", kept.SHA1)
				}
				for _, k := range retired {
					fmt.Fprintf(e.stdout, "retired encryption key %s\n", k.SHA1)
				}
				return nil
			}
			k, err := svc.RotateEncryptionKey(ctx, cliActor, c.ID)
			if ar, ok := usererr.As(err); ok {
				return fmt.Errorf("sso encryption-rotate: %s Finish it with --finish", ar.Message())
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "new encryption certificate %s (expires %s); the previous one still decrypts.\n", k.SHA1, k.NotAfter.UTC().Format("2006-01-02"))
			fmt.Fprintf(e.stdout, "next: ssogate sso encryption-cert %s > %s-encryption.cer, import it in Entra (Single sign-on → Token encryption) and activate it, then ssogate sso encryption-rotate %s --finish\n", c.Slug, c.Slug, c.Slug)
			return nil
		})
	case "encryption-cert":
		fs := e.newFlags("sso encryption-cert")
		sha1 := fs.String("sha1", "", "the certificate's thumbprint (default: the newest live one)")
		slug, err := oneSlug(fs, args)
		if err != nil {
			return err
		}
		want := strings.ToUpper(strings.NewReplacer(":", "", " ", "").Replace(*sha1))
		return e.withCompany(ctx, slug, func(st directory.Store, c *directory.Company) error {
			live, err := st.ListEncryptionKeys(ctx, c.ID, false)
			if err != nil {
				return err
			}
			for i := len(live) - 1; i >= 0; i-- {
				if want == "" || live[i].SHA1 == want {
					_, err := e.stdout.Write(certs.CertificatePEM(live[i].CertDER))
					return err
				}
			}
			if want != "" {
				return fmt.Errorf("no live encryption certificate with thumbprint %q", *sha1)
			}
			return fmt.Errorf("%s has no encryption certificate: turn token encryption on with ssogate sso configure %s --encryption optional", c.Slug, c.Slug)
		})
	}
	return fmt.Errorf("unknown sso command %q", cmd)
}

// showEncryption prints the token encryption lines of `sso show`.
func showEncryption(ctx context.Context, w io.Writer, st directory.Store, c *directory.Company) error {
	mode := c.TokenEncryption
	if mode == "" {
		mode = directory.EncryptionOff
	}
	fmt.Fprintf(w, "\nToken encryption\t%s\n", mode)
	list, err := st.ListEncryptionKeys(ctx, c.ID, true)
	if err != nil {
		return err
	}
	for i := len(list) - 1; i >= 0; i-- {
		k := list[i]
		state := "live"
		if k.RetiredAt != nil {
			state = "retired " + k.RetiredAt.UTC().Format("2006-01-02")
		} else if i == len(list)-1 {
			state = "live, newest: the one to import in Entra (ssogate sso encryption-cert " + c.Slug + ")"
		}
		used := "never decrypted a sign-in"
		if k.LastUsedAt != nil {
			used = "last decrypted a sign-in " + k.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  %s\t%s, expires %s, %s\n", k.SHA1, state, k.NotAfter.UTC().Format("2006-01-02"), used)
	}
	return nil
}
