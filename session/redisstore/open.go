package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrBadURL is returned by Open for a URL it cannot use. Its messages never
// repeat the URL, which may hold a password.
var ErrBadURL = errors.New("redisstore: bad Redis URL")

// Open connects to the Redis named by rawURL and checks that it answers.
// The forms (SSOGATE_REDIS_URL):
//
//	redis://[user:password@]host[:6379][/db][?option=value...]
//	rediss://...                  the same over TLS
//	    one server
//	redis+sentinel://[user:password@]s1[:26379],s2[:26379]/MASTER[?db=N&option=value...]
//	    Sentinel: the sentinels' addresses, then the master's name; the
//	    user info is the Redis master's credentials, the sentinels' own go
//	    in sentinel_username / sentinel_password
//	redis+cluster://[user:password@]n1[:6379],n2[:6379][?option=value...]
//	    Cluster: some seed nodes (one is enough); always database 0
//	rediss+sentinel://, rediss+cluster://   the same over TLS
//
// The options are go-redis's, as its ParseURL, ParseFailoverURL and
// ParseClusterURL take them for the kind of client: dial_timeout,
// read_timeout, write_timeout, pool_timeout (Go durations or whole
// seconds; 0 or less: none, the per-call deadline still holds), pool_size,
// max_retries, client_name, ... An unknown option is
// refused, and so are those that send the store's reads to replicas
// (read_only, route_by_latency, route_randomly, replica_only): a revoked
// session must not be read back from a replica that lags.
//
// Socket timeouts and the pool wait a URL leaves unset are Options.Timeout
// (DefaultTimeout), retries DefaultMaxRetries, and every call is bounded by
// Options.Timeout as a whole (see fault.go).
func Open(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	t, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	timeout := opt.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout > 0 {
		applyDeadlines(t, timeout)
	}
	c := newClient(t)
	s := New(c, opt)
	if err := s.Ping(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	if err := checkVersion(ctx, c); err != nil {
		_ = c.Close()
		return nil, err
	}
	return s, nil
}

func newClient(t target) redis.UniversalClient {
	switch {
	case t.failover != nil:
		return redis.NewFailoverClient(t.failover)
	case t.cluster != nil:
		return redis.NewClusterClient(t.cluster)
	}
	return redis.NewClient(t.single)
}

// ErrOldServer is returned by Open for a Redis older than 7.0.
var ErrOldServer = errors.New("redisstore: Redis 7.0 or newer is required")

// checkVersion refuses a server too old for the commands the store uses
// (PEXPIRE NX, PEXPIREAT GT). A server that hides INFO is let through.
func checkVersion(ctx context.Context, c redis.UniversalClient) error {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(info, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		major, _, _ := strings.Cut(v, ".")
		if n, err := strconv.Atoi(major); err == nil && n < 7 {
			return fmt.Errorf("%w (the server is %s)", ErrOldServer, v)
		}
	}
	return nil
}

// target is a parsed URL: exactly one of its fields is set.
type target struct {
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

func badURL(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadURL}, args...)...)
}

func parseURL(raw string) (target, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return target{}, badURL("want redis://, rediss://, redis+sentinel:// or redis+cluster://")
	}
	switch scheme {
	case "redis", "rediss":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return target{}, badURL("%s", safeErr(err))
		}
		return target{single: o}, checkCounts(o.DB, o.PoolSize)
	case "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster":
		return parseMulti(scheme, rest)
	}
	return target{}, badURL("scheme %q: want redis, rediss, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster", scheme)
}

// checkCounts refuses what go-redis would take and then misuse: a negative
// database is quietly database 0, a negative pool size a panic.
func checkCounts(db, poolSize int) error {
	if db < 0 {
		return badURL("database %d: must be 0 or more", db)
	}
	if poolSize < 0 {
		return badURL("option pool_size=%d: must be 0 (the default) or more", poolSize)
	}
	return nil
}

// safeErr drops the URL that url.Error carries (it may hold a password).
func safeErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// parseMulti turns the Sentinel and Cluster forms ("[user:pass@]h1:p1,h2:p2
// [/path][?query]" after the scheme) into the URLs go-redis's
// ParseFailoverURL and ParseClusterURL parse: the first host as the URL's
// host, the others as addr options. ParseFailoverURL reads the sentinels'
// credentials from the user info and the master's from the username and
// password options, the other way round from the Sentinel form, so for
// Sentinel those change places and the master's name becomes master_name.
func parseMulti(scheme, rest string) (target, error) {
	base, kind, _ := strings.Cut(scheme, "+")
	sentinel := kind == "sentinel"
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	var user, pass string
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		var err1, err2 error
		rawUser, rawPass, _ := strings.Cut(authority[:i], ":")
		user, err1 = url.PathUnescape(rawUser)
		pass, err2 = url.PathUnescape(rawPass)
		if err1 != nil || err2 != nil {
			return target{}, badURL("user info is not valid percent-encoding")
		}
		authority = authority[i+1:]
	}
	defPort := "6379"
	if sentinel {
		defPort = "26379"
	}
	var addrs []string
	for _, h := range strings.Split(authority, ",") {
		addr, err := hostPort(h, defPort)
		if err != nil {
			return target{}, err
		}
		addrs = append(addrs, addr)
	}
	u, err := url.Parse(base + "://" + addrs[0] + tail)
	if err != nil {
		return target{}, badURL("%s", safeErr(err))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return target{}, badURL("query is not valid URL encoding")
	}
	q["addr"] = append(q["addr"], addrs[1:]...)
	path := u.EscapedPath()
	switch {
	case !sentinel && path != "":
		return target{}, badURL("Cluster form takes no path (a cluster has only database 0)")
	case !sentinel:
		u.User = url.UserPassword(user, pass)
	case len(path) < 2 || strings.Count(path, "/") != 1:
		return target{}, badURL("Sentinel form needs the master name as the path: redis+sentinel://host:26379,host2:26379/MASTER")
	default:
		for _, k := range []string{"master_name", "username", "password"} {
			if q.Has(k) {
				return target{}, badURL("option %s: the Sentinel form takes the master's name as the path and its credentials as the user info", k)
			}
		}
		q.Set("master_name", u.Path[1:])
		q.Set("username", user)
		q.Set("password", pass)
		u.User = url.UserPassword(last(q["sentinel_username"]), last(q["sentinel_password"]))
		delete(q, "sentinel_username")
		delete(q, "sentinel_password")
		u.Path, u.RawPath = "", ""
	}
	u.RawQuery = q.Encode()
	if sentinel {
		o, err := redis.ParseFailoverURL(u.String())
		switch {
		case err != nil:
			return target{}, badURL("%s", safeErr(err))
		case o.RouteByLatency || o.RouteRandomly || o.ReplicaOnly:
			return target{}, badURL("options route_by_latency, route_randomly and replica_only are refused: the store reads from the master")
		}
		perNodeTLS(o.TLSConfig)
		return target{failover: o}, checkCounts(o.DB, o.PoolSize)
	}
	o, err := redis.ParseClusterURL(u.String())
	switch {
	case err != nil:
		return target{}, badURL("%s", safeErr(err))
	case o.ReadOnly || o.RouteByLatency || o.RouteRandomly:
		return target{}, badURL("options read_only, route_by_latency and route_randomly are refused: the store reads from the masters")
	}
	perNodeTLS(o.TLSConfig)
	return target{cluster: o}, checkCounts(0, o.PoolSize)
}

// perNodeTLS undoes the parsers' naming the first host as the TLS server:
// with no ServerName each node is checked against its own host name.
func perNodeTLS(c *tls.Config) {
	if c != nil {
		c.ServerName = ""
		c.MinVersion = tls.VersionTLS12
	}
}

func last(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

func hostPort(h, defPort string) (string, error) {
	if h == "" {
		return "", badURL("empty host in the host list")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port given (also "[::1]" without one).
		host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defPort
		if strings.ContainsAny(host, ":[]") && !strings.HasPrefix(h, "[") {
			return "", badURL("host %q: put an IPv6 address in brackets", h)
		}
	}
	if host == "" {
		return "", badURL("host %q has no name", h)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", badURL("host %q: port must be 1-65535", h)
	}
	return net.JoinHostPort(host, port), nil
}
