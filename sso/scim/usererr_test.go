package scim

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/sso/directory"
)

// TestStoreErrorRendersRefusals: a user-safe refusal from below becomes a
// SCIM error whose status follows its Kind and whose detail is its message,
// never its cause; an outage under it is still a 503.
func TestStoreErrorRendersRefusals(t *testing.T) {
	cause := errors.New("secret internal cause")
	for _, tc := range []struct {
		kind     usererr.Kind
		status   int
		scimType string
	}{
		{usererr.Invalid, http.StatusBadRequest, typeInvalidValue},
		{usererr.Conflict, http.StatusConflict, ""},
		{usererr.NotFound, http.StatusNotFound, ""},
		{usererr.Forbidden, http.StatusForbidden, ""},
		{usererr.Unavailable, http.StatusServiceUnavailable, ""},
	} {
		err := fmt.Errorf("patch: %w", usererr.Wrap(cause, tc.kind, "approver_loop", "The manager chain would loop."))
		e := storeError(err)
		if e.Status != tc.status || e.SCIMType != tc.scimType || e.Detail != "The manager chain would loop." || !errors.Is(e, cause) {
			t.Errorf("%v: %+v", tc.kind, e)
		}
		w := httptest.NewRecorder()
		writeError(w, e)
		if w.Code != tc.status || strings.Contains(w.Body.String(), "secret") || !strings.Contains(w.Body.String(), "would loop") {
			t.Errorf("%v: %d %s", tc.kind, w.Code, w.Body.String())
		}
	}
	out := storeError(usererr.Wrap(fmt.Errorf("x: %w", directory.ErrUnavailable), usererr.Conflict, "c", "Busy."))
	if out.Status != http.StatusServiceUnavailable || out.Detail == "Busy." {
		t.Fatalf("outage under a refusal: %+v", out)
	}
}
