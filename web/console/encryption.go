package console

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssogate/ssogate/admin"
	"github.com/ssogate/ssogate/certs"
	"github.com/ssogate/ssogate/sso/directory"
	"github.com/ssogate/ssogate/web/internal/httpx"
)

// The console's Token encryption page (SSO settings → Token encryption):
// the policy, the company's encryption certificates to download for
// Entra, and the rollover.

func init() {
	notices["encryption"] = "Token encryption setting saved. Every instance uses it within seconds."
	notices["encryption-rotated"] = "New encryption certificate made. Both decrypt until you finish the rollover: download the new one, import and activate it in Entra."
	notices["encryption-finished"] = "Rollover finished: only the newest encryption certificate decrypts now."
}

type encKeyRow struct {
	SHA1, SHA256, NotAfter, Created, LastUsed, Retired string
	Live, Newest                                       bool
}

type encryptionView struct {
	Mode  string
	Rows  []encKeyRow
	Live  int
	Ready bool // a live key exists (what Entra needs before the policy is on)
}

func (s *Console) encryptionViewOf(c echo.Context, co *directory.Company) (*encryptionView, error) {
	list, err := s.dir.ListEncryptionKeys(c.Request().Context(), co.ID, true)
	if err != nil {
		return nil, fmt.Errorf("list encryption keys: %w", err)
	}
	v := &encryptionView{Mode: string(co.TokenEncryption)}
	if v.Mode == "" {
		v.Mode = string(directory.EncryptionOff)
	}
	newest := -1
	for i, k := range list {
		if k.RetiredAt == nil {
			v.Live++
			newest = i
		}
	}
	for i := len(list) - 1; i >= 0; i-- {
		k := list[i]
		r := encKeyRow{SHA1: k.SHA1, SHA256: k.SHA256, NotAfter: k.NotAfter.UTC().Format("2006-01-02"),
			Created: k.CreatedAt.UTC().Format("2006-01-02 15:04"), Live: k.RetiredAt == nil, Newest: i == newest}
		if k.LastUsedAt != nil {
			r.LastUsed = k.LastUsedAt.UTC().Format("2006-01-02 15:04")
		}
		if k.RetiredAt != nil {
			r.Retired = k.RetiredAt.UTC().Format("2006-01-02 15:04")
		}
		v.Rows = append(v.Rows, r)
	}
	v.Ready = v.Live > 0
	return v, nil
}

// adminEncryptionPage: GET /admin/sso/encryption.
func (s *Console) adminEncryptionPage(c echo.Context) error {
	return s.encryptionPage(c, http.StatusOK, "")
}

// encryptionPage shows the Token encryption page.
func (s *Console) encryptionPage(c echo.Context, status int, errMsg string) error {
	v, err := s.encryptionViewOf(c, adminOf(c).t.Company)
	if err != nil {
		return err
	}
	return s.adminPage(c, status, "admin_encryption.html", "Token encryption", "sso", v, errMsg)
}

// adminEncryptionSave: POST /admin/sso/encryption — the policy. Turning it
// on makes the first key pair.
func (s *Console) adminEncryptionSave(c echo.Context) error {
	ac := adminOf(c)
	_, err := s.admin.SetTokenEncryption(c.Request().Context(), ac.who(), ac.t.Company.ID, c.FormValue("mode"))
	return s.settingsDone(c, err, "save token encryption", s.encryptionPage, http.StatusUnprocessableEntity, "/sso/encryption", "encryption")
}

// adminEncryptionRotate: POST /admin/sso/encryption/rotate — a new key
// pair beside the live one (at most two at once).
func (s *Console) adminEncryptionRotate(c echo.Context) error {
	ac := adminOf(c)
	_, err := s.admin.RotateEncryptionKey(c.Request().Context(), ac.who(), ac.t.Company.ID)
	return s.settingsDone(c, err, "rotate encryption key", s.encryptionPage, http.StatusConflict, "/sso/encryption", "encryption-rotated")
}

// adminEncryptionFinish: POST /admin/sso/encryption/finish — retire every
// live key but the newest.
func (s *Console) adminEncryptionFinish(c echo.Context) error {
	ac := adminOf(c)
	_, _, err := s.admin.FinishEncryptionRollover(c.Request().Context(), ac.who(), ac.t.Company.ID)
	if errors.Is(err, admin.ErrNoRollover) { // nothing to finish: the page shows the keys as they are
		err = nil
	}
	return s.settingsDone(c, err, "finish encryption rollover", s.encryptionPage, http.StatusConflict, "/sso/encryption", "encryption-finished")
}

var sha1RE = regexp.MustCompile(`^[0-9A-F]{40}$`)

// adminEncryptionCert: GET /admin/sso/encryption/cert/{sha1} — the
// certificate as Entra's Token encryption page imports it (.cer, Base64).
func (s *Console) adminEncryptionCert(c echo.Context) error {
	ac := adminOf(c)
	sha := c.Param("sha1")
	if sha1RE.MatchString(sha) {
		list, err := s.dir.ListEncryptionKeys(c.Request().Context(), ac.t.Company.ID, true)
		if err != nil {
			return fmt.Errorf("list encryption keys: %w", err)
		}
		for _, k := range list {
			if k.SHA1 == sha {
				name := fmt.Sprintf("%s-token-encryption-%s.cer", ac.t.Company.Slug, time.Now().UTC().Format("20060102"))
				c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
				return c.Blob(http.StatusOK, "application/pkix-cert", certs.CertificatePEM(k.CertDER))
			}
		}
	}
	return httpx.Refuse(http.StatusNotFound, "not_found", "Not found", "There is no such encryption certificate.", "", nil)
}
