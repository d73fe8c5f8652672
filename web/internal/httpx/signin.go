package httpx

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ssogate/ssogate/internal/throttle"
)

// What the two password sign-ins (the employees' in web, the console's
// break-glass admins') answer when the throttle or the bound on concurrent
// password checks holds an attempt back.

const (
	// BusyStatus answers a sign-in refused for want of a free password
	// check.
	BusyStatus = http.StatusServiceUnavailable
	// BusyRetry is its Retry-After.
	BusyRetry = time.Second
	// BusyMessage is what the sign-in page says then.
	BusyMessage = "Too many sign-ins are being checked right now. Wait a few seconds, then try again."
)

// LockedMessage tells the user how long a throttled sign-in must wait.
func LockedMessage(wait time.Duration) string {
	when := "a minute"
	switch {
	case wait <= 90*time.Second:
		when = strconv.Itoa(int((wait+time.Second-1)/time.Second)) + " seconds"
	default:
		when = strconv.Itoa(int((wait+time.Minute-1)/time.Minute)) + " minutes"
	}
	return "Too many failed sign-ins for this account or from this network. Try again in " + when + "."
}

// SetRetryAfter sets the Retry-After header in whole seconds (at least 1).
func SetRetryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(throttle.Seconds(wait)))
}
