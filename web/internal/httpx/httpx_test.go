package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ssogate/ssogate/internal/usererr"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/sso/directory"
)

// The cause of a refusal is for the log: Unwrap and Cause reach it, Error
// and the user-facing fields never carry it.
func TestErrorPageKeepsTheCauseOutOfWhatUsersSee(t *testing.T) {
	cause := errors.New("pq: relation employees does not exist")
	ue := Refuse(403, "not_allowed", "Not allowed", "You may not.", "Ask IT.", cause)
	if ue.Error() != "You may not." || !errors.Is(ue, cause) || ue.Cause() != cause {
		t.Errorf("Error() = %q, errors.Is(cause) = %v", ue.Error(), errors.Is(ue, cause))
	}
	for _, f := range []string{ue.Title, ue.Message(), ue.Action, ue.Code(), ue.Error()} {
		if strings.Contains(f, "pq:") {
			t.Errorf("a user-facing field carries the cause: %q", f)
		}
	}
	if ue := Refuse(404, "unknown_company", "t", "m", "a", nil); ue.Error() != "m" || ue.Code() != "unknown_company" || ue.Cause() != nil {
		t.Errorf("without a cause: Error() = %q, cause %v", ue.Error(), ue.Cause())
	}
	var got *ErrorPage
	if !errors.As(fmt.Errorf("wrapped: %w", ue), &got) || got != ue {
		t.Error("errors.As does not find a wrapped page")
	}
	// A page is also the usererr.Error it presents, for callers that look
	// for one.
	if e, ok := usererr.As(fmt.Errorf("wrapped: %w", ue)); !ok || e.Code() != "not_allowed" || e.Kind() != usererr.Forbidden {
		t.Errorf("usererr.As = %v, %v", e, ok)
	}
}

func TestPageOfFollowsTheKind(t *testing.T) {
	for k, status := range map[usererr.Kind]int{
		usererr.Invalid: 422, usererr.Conflict: 409, usererr.NotFound: 404, usererr.Forbidden: 403, usererr.Unavailable: 503,
	} {
		e := usererr.Wrap(errors.New("secret"), k, "c", "Safe.")
		p := PageOf(e)
		if p.Status != status || p.Title == "" || p.Message() != "Safe." || p.Code() != "c" || p.Cause() == nil || p.Unwrap() != e {
			t.Errorf("%v: %+v", k, p)
		}
	}
	for status, k := range map[int]usererr.Kind{400: usererr.Invalid, 413: usererr.Invalid, 422: usererr.Invalid, 409: usererr.Conflict,
		404: usererr.NotFound, 401: usererr.Forbidden, 403: usererr.Forbidden, 429: usererr.Unavailable, 502: usererr.Unavailable, 503: usererr.Unavailable} {
		if got := Refuse(status, "c", "t", "m", "", nil).err.Kind(); got != k {
			t.Errorf("Refuse(%d) kind %v, want %v", status, got, k)
		}
	}
}

func TestOutageOfTellsOutagesFromRefusals(t *testing.T) {
	for err, want := range map[error]string{
		nil:                    "",
		session.ErrUnavailable: "sessions",
		fmt.Errorf("take code: %w", session.ErrUnavailable): "sessions",
		fmt.Errorf("load: %w", directory.ErrUnavailable):    "database",
		fmt.Errorf("query: %w", context.DeadlineExceeded):   "deadline",
		session.ErrNotFound:               "", // an answer, not an outage
		directory.ErrNotFound:             "",
		context.Canceled:                  "", // the client went away
		errors.New("corrupt record"):      "",
		Refuse(503, "x", "", "", "", nil): "",
	} {
		if got := OutageOf(err); got != want {
			t.Errorf("OutageOf(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestNoStore(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("Cache-Control", "max-age=3600")
	NoStore(w)
	if got := w.Header().Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := w.Header().Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q", got)
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc"},
		{"ab\u00e6\u00f8\u00e5", 3, "ab"}, // æ is 2 bytes: never cut in half
		{"ab\u00e6\u00f8\u00e5", 4, "ab\u00e6"},
		{"a\x00b", 10, "a\uFFFDb"}, // NUL
		{"a\xffb", 10, "a\uFFFDb"}, // broken UTF-8
		{"\u6f22\u5b57", 2, ""},    // a 3-byte character does not fit
	} {
		got := Truncate(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) || len(got) > max(c.n, len(c.want)) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
