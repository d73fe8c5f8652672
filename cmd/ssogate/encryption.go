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
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web"
)

// Token encryption commands: `sso configure --encryption`, `sso
// encryption-rotate`, `sso encryption-cert`, and the lines of `sso show`.

// setEncryption sets the token encryption policy (admin.SetTokenEncryption:
// a key pair is made when it is turned on and none is live) and re-reads c.
func (e *env) setEncryption(ctx context.Context, st directory.Store, c *directory.Company, mode string) error {
	svc := &admin.Service{Dir: st, NewEncryptionKey: func(co *directory.Company, now time.Time) (*directory.EncryptionKey, error) {
		return web.MakeEncryptionKey(co, e.cfg.SigningKeySecret, now)
	}}
	k, err := svc.SetTokenEncryption(ctx, cliActor, c.ID, mode)
	var ar *admin.Refusal
	if errors.As(err, &ar) {
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
			live, err := st.ListEncryptionKeys(ctx, c.ID, false)
			if err != nil {
				return err
			}
			if *finish {
				if len(live) < 2 {
					return errors.New("sso encryption-rotate --finish: no rollover in progress (one key or none)")
				}
				newest := live[len(live)-1]
				if newest.LastUsedAt == nil {
					fmt.Fprintf(e.stdout, "note: the new certificate %s has not decrypted a sign-in yet; check that Entra's active Token encryption certificate is it\n", newest.SHA1)
				}
				for _, k := range live[:len(live)-1] {
					if err := st.RetireEncryptionKey(ctx, c.ID, k.SHA256, time.Now()); err != nil {
						return err
					}
					_ = audit(ctx, st, c, "encryption.retire", "sha1="+k.SHA1)
					fmt.Fprintf(e.stdout, "retired encryption key %s\n", k.SHA1)
				}
				return nil
			}
			if len(live) >= 2 {
				return fmt.Errorf("sso encryption-rotate: a rollover is in progress already (%d live keys); once Entra uses the newest certificate, finish it with --finish", len(live))
			}
			k, err := web.NewEncryptionKey(ctx, st, c, e.cfg.SigningKeySecret, time.Now())
			if err != nil {
				return err
			}
			_ = audit(ctx, st, c, "encryption.rotate", "sha1="+k.SHA1)
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
