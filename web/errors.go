package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// userError is a refusal with a fixed, user-safe message. The cause goes to
// the log, never to the user.
type userError struct {
	Status  int
	Title   string
	Message string // what happened, in the user's words
	Action  string // what to do / whom to ask
	Code    string // machine code, for JSON bodies and logs
	Err     error  // internal cause (logged)
}

func (e *userError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code
}

func (e *userError) Unwrap() error { return e.Err }

func refuse(status int, code, title, message, action string, cause error) *userError {
	return &userError{Status: status, Code: code, Title: title, Message: message, Action: action, Err: cause}
}

// wantsJSON reports whether the request is an API call (JSON errors).
func wantsJSON(c echo.Context) bool {
	p := c.Request().URL.Path
	return strings.Contains(p, "/api/") || strings.Contains(p, "/oauth/token") ||
		strings.HasPrefix(c.Request().Header.Get("Accept"), "application/json")
}

// errorHandler renders every error returned by a handler: a page for
// browsers, a JSON body for API clients. A 5xx is logged at error level with
// its cause; a 4xx at info with its cause. Internal details never reach the
// body.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ue := &userError{}
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ue):
	case errors.As(err, &he):
		ue = &userError{Status: he.Code, Code: strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")),
			Title: http.StatusText(he.Code), Message: "The request could not be served.", Err: he.Internal}
		if ue.Status == http.StatusNotFound {
			ue.Message = "There is nothing at this address."
		}
		if ue.Status == http.StatusRequestEntityTooLarge {
			ue.Message = "The request was too large."
		}
		if ue.Err == nil {
			ue.Err = err
		}
	default:
		ue = &userError{Status: http.StatusInternalServerError, Code: "internal", Title: "Something went wrong",
			Message: "The gateway could not complete the request.", Action: "Try again in a moment. If it keeps happening, contact your IT department.", Err: err}
	}
	level := slog.LevelInfo
	if ue.Status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(c.Request().Context(), level, "request refused",
		slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path),
		slog.Int("status", ue.Status), slog.String("code", ue.Code), slog.Any("cause", ue.Err))
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(ue.Status)
		return
	}
	if wantsJSON(c) {
		_ = c.JSON(ue.Status, map[string]string{"error": ue.Code, "error_description": ue.Message})
		return
	}
	_ = s.render(c, ue.Status, "error.html", ue)
}
