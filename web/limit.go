package web

import (
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// clientLimiter is a token bucket per client address (golang.org/x/time/rate)
// for the requests an unauthenticated client can make the gateway write
// for: a pending SAML request per GET /login, a sign-in record per refused
// ACS POST. It lives in the instance, so a login costs no store round trip
// and the limit holds while a store is down; with N instances a client
// gets at most N times the rate, which still bounds what it can write.
//
// Memory is bounded: buckets live in two generations that rotate every
// idle period (long enough for any bucket to refill, so dropping one loses
// nothing) or when the current one reaches maxClients.
type clientLimiter struct {
	rate  rate.Limit
	burst int
	idle  time.Duration

	mu       sync.Mutex
	cur, old map[string]*rate.Limiter
	rotated  time.Time
}

const maxClients = 50000

func newClientLimiter(perSecond, burst int64) *clientLimiter {
	if perSecond <= 0 {
		return nil
	}
	idle := time.Duration(float64(burst)/float64(perSecond)*float64(time.Second)) + time.Minute
	return &clientLimiter{rate: rate.Limit(perSecond), burst: int(burst), idle: idle,
		cur: map[string]*rate.Limiter{}, old: map[string]*rate.Limiter{}}
}

// allow takes one token for client at now; when there is none it returns
// how long until there is.
func (l *clientLimiter) allow(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.rotated) >= l.idle || len(l.cur) >= maxClients {
		l.old, l.cur, l.rotated = l.cur, make(map[string]*rate.Limiter, len(l.cur)/2+1), now
	}
	lim := l.cur[client]
	if lim == nil {
		if lim = l.old[client]; lim == nil {
			lim = rate.NewLimiter(l.rate, l.burst)
		}
		l.cur[client] = lim
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// clientKey is the address a limit applies to: the IPv4 address, or the
// /64 of an IPv6 one (a single host usually holds a whole /64).
func clientKey(ip string) string {
	a := net.ParseIP(ip)
	if a == nil {
		return ip
	}
	if a.To4() == nil {
		return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return a.String()
}

// signinPaths are the unauthenticated requests that write: GET /login (a
// pending request), POST /saml/acs (a sign-in record when refused), GET
// /oauth/authorize (through /login).
var signinPaths = regexp.MustCompile(`^/c/[^/]+/(login|saml/acs|oauth/authorize)$`)

// signinLimit answers 429 (with Retry-After) to a client over its sign-in
// rate, before anything is stored.
func (s *Server) signinLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.limiter == nil || !signinPaths.MatchString(c.Request().URL.Path) {
			return next(c)
		}
		ok, wait := s.limiter.allow(clientKey(c.RealIP()), s.now())
		if ok {
			return next(c)
		}
		s.metrics.rateLimited.Inc()
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		return refuse(http.StatusTooManyRequests, "rate_limited", "Too many sign-in attempts",
			"Too many sign-in requests came from your network in a short time.", "Wait a moment, then try again.", nil)
	}
}
