package admin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
)

// SSOSettings are the SSO settings of a company an admin sets, from the
// console's SSO page or `ssogate sso configure`. A nil field is left as it
// is.
type SSOSettings struct {
	Name            *string
	Enabled         *bool
	NameIDMode      *string // "upn" or "mail"
	EntraIdentifier *string // "" unsets it
	LoginURL        *string // "" unsets it (it is then derived)
	SLO             *bool
}

// Entra URL examples shown when a pasted value is refused.
const (
	exampleIdentifier = "https://sts.windows.net/<tenant-id>/"
	exampleLoginURL   = "https://login.microsoftonline.com/<tenant-id>/saml2"
)

// CheckEntraURL accepts an empty value or an absolute http(s) URL of at
// most 500 bytes without whitespace: the shape of the Entra values the
// SSO settings take (Microsoft Entra Identifier, Login URL).
func CheckEntraURL(v, what, example string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(v) > 500 || strings.ContainsAny(v, " \t\r\n") {
		return fmt.Errorf("%s %q is not a URL: paste it from Entra (Single sign-on → Set up), e.g. %s", what, v, example)
	}
	return nil
}

// ConfigureSSO changes a company's SSO settings. Every problem of the
// input is reported at once in one usererr.Invalid error, and nothing is
// written. A Login URL that changes must also pass s.CheckLoginURL (the
// operator's allow-list of IdP sign-in hosts, SSOGATE_IDP_LOGIN_HOSTS):
// it is where every employee's browser is sent. It returns the company as
// written and the changes made ("enabled=true", `login_url="…"`), which are
// also the detail of the one sso.configure audit entry; no change, no
// write and no entry.
func (s *Service) ConfigureSSO(ctx context.Context, a Actor, companyID int64, in SSOSettings) (*directory.Company, []string, error) {
	var out *directory.Company
	var changes []string
	err := s.Dir.InTx(ctx, func(tx directory.Store) error {
		co, err := tx.GetCompanyByID(ctx, companyID)
		if err != nil {
			return err
		}
		before := *co
		var problems []string
		if in.Name != nil {
			co.Name = strings.TrimSpace(*in.Name)
			switch {
			case co.Name == "":
				problems = append(problems, "Enter the company's name.")
			case len(co.Name) > 200:
				problems = append(problems, "The company name is too long (200 characters at most).")
			}
		}
		if in.Enabled != nil {
			co.SSOEnabled = *in.Enabled
		}
		if in.NameIDMode != nil {
			co.NameIDMode = directory.NameIDMode(strings.ToLower(strings.TrimSpace(*in.NameIDMode)))
			if !co.NameIDMode.Valid() {
				problems = append(problems, "Choose how the NameID is matched: upn (user.userprincipalname) or mail (user.mail).")
			}
		}
		if in.EntraIdentifier != nil {
			co.EntraIdentifier = strings.TrimSpace(*in.EntraIdentifier)
			if err := CheckEntraURL(co.EntraIdentifier, "Microsoft Entra Identifier", exampleIdentifier); err != nil {
				problems = append(problems, err.Error())
			}
		}
		if in.LoginURL != nil {
			co.IDPLoginURL = strings.TrimSpace(*in.LoginURL)
			if err := CheckEntraURL(co.IDPLoginURL, "Login URL", exampleLoginURL); err != nil {
				problems = append(problems, err.Error())
			} else if co.IDPLoginURL != "" && co.IDPLoginURL != before.IDPLoginURL && !s.loginURLAllowed(co.IDPLoginURL) {
				problems = append(problems, fmt.Sprintf("The Login URL %q is not a Microsoft sign-in address: paste the Login URL Entra shows (%s, or your national cloud's); other hosts need the operator's SSOGATE_IDP_LOGIN_HOSTS.", co.IDPLoginURL, exampleLoginURL))
			}
		}
		if in.SLO != nil {
			co.SLOEnabled = *in.SLO
		}
		if len(problems) > 0 {
			return usererr.New(usererr.Invalid, "bad_sso_settings", strings.Join(problems, " "))
		}
		changes = ssoChanges(&before, co)
		out = co
		if len(changes) == 0 {
			return nil
		}
		if err := tx.UpdateCompanySettings(ctx, co); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, a.Name, "sso.configure", strings.Join(changes, " "))
	})
	if err != nil {
		return nil, nil, err
	}
	return out, changes, nil
}

// loginURLAllowed asks the operator's check; without one no Login URL is
// accepted (fail closed).
func (s *Service) loginURLAllowed(u string) bool {
	return s.CheckLoginURL != nil && s.CheckLoginURL(u) == nil
}

// ssoChanges lists what differs between before and after, in the audit
// format.
func ssoChanges(before, after *directory.Company) []string {
	var changes []string
	if before.SSOEnabled != after.SSOEnabled {
		changes = append(changes, "enabled="+strconv.FormatBool(after.SSOEnabled))
	}
	if before.NameIDMode != after.NameIDMode {
		changes = append(changes, "nameid="+string(after.NameIDMode))
	}
	if before.EntraIdentifier != after.EntraIdentifier {
		changes = append(changes, fmt.Sprintf("entra_identifier=%q", after.EntraIdentifier))
	}
	if before.IDPLoginURL != after.IDPLoginURL {
		changes = append(changes, fmt.Sprintf("login_url=%q", after.IDPLoginURL))
	}
	if before.SLOEnabled != after.SLOEnabled {
		changes = append(changes, "slo="+strconv.FormatBool(after.SLOEnabled))
	}
	if before.Name != after.Name {
		changes = append(changes, fmt.Sprintf("name=%q", after.Name))
	}
	return changes
}

// SetMetadataURL sets the company's App Federation Metadata Url ("" removes
// it; the certificates it brought stay trusted until retired). A new URL
// must pass s.CheckMetadataURL (the fetcher's host allow-list); the caller
// fetches it afterwards (fedsync). It reports whether anything changed: the
// same URL again is no write and no audit entry. Audit: sso.metadata_url
// (`metadata_url="…"`).
func (s *Service) SetMetadataURL(ctx context.Context, a Actor, companyID int64, raw string) (bool, error) {
	raw = strings.TrimSpace(raw)
	if raw != "" {
		if s.CheckMetadataURL == nil {
			return false, usererr.New(usererr.Invalid, "bad_metadata_url", "The metadata URL was refused: no metadata host is allowed here.")
		}
		if err := s.CheckMetadataURL(raw); err != nil {
			msg := "The metadata URL was refused."
			if ue, ok := usererr.As(err); ok {
				msg = "The metadata URL was refused: " + ue.Message() + "."
			}
			return false, usererr.Wrap(err, usererr.Invalid, "bad_metadata_url", msg)
		}
	}
	changed := false
	err := s.Dir.InTx(ctx, func(tx directory.Store) error {
		co, err := tx.GetCompanyByID(ctx, companyID)
		if err != nil {
			return err
		}
		if co.MetadataURL == raw {
			return nil
		}
		if err := tx.SetMetadataURL(ctx, companyID, raw); err != nil {
			return err
		}
		changed = true
		return s.audit(ctx, tx, companyID, a.Name, "sso.metadata_url", fmt.Sprintf("metadata_url=%q", raw))
	})
	if errors.Is(err, directory.ErrInvalid) {
		return false, usererr.Wrap(err, usererr.Invalid, "bad_metadata_url", "The metadata URL was refused: it is too long or not plain text.")
	}
	return changed && err == nil, err
}
