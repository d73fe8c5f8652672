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
	"time"

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
//	    one server; options as go-redis ParseURL takes them
//	    (dial_timeout, read_timeout, pool_size, client_name, ...)
//	redis+sentinel://[user:password@]s1[:26379],s2[:26379]/MASTER[?db=N]
//	    Sentinel: the sentinels' addresses, then the master's name; the
//	    user info is the Redis master's credentials, the sentinels' own go
//	    in sentinel_username / sentinel_password
//	redis+cluster://[user:password@]n1[:6379],n2[:6379]
//	    Cluster: some seed nodes (one is enough); always database 0
//	rediss+sentinel://, rediss+cluster://   the same over TLS
//
// The two multi-host forms take these options: db (Sentinel only),
// sentinel_username, sentinel_password, client_name, dial_timeout,
// read_timeout, write_timeout (Go durations, e.g. 3s), pool_size.
// Anything else is refused.
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
	if t.single != nil {
		return redis.NewClient(t.single)
	}
	return redis.NewUniversalClient(t.multi)
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

// target is a parsed URL: one server, or Sentinel/Cluster.
type target struct {
	single *redis.Options
	multi  *redis.UniversalOptions
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
		return target{single: o}, nil
	case "redis+sentinel", "rediss+sentinel":
		return parseMulti(rest, scheme == "rediss+sentinel", true)
	case "redis+cluster", "rediss+cluster":
		return parseMulti(rest, scheme == "rediss+cluster", false)
	}
	return target{}, badURL("scheme %q: want redis, rediss, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster", scheme)
}

// safeErr drops the URL that url.Error carries (it may hold a password).
func safeErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// parseMulti parses "[user:pass@]h1:p1,h2:p2[/path][?query]".
func parseMulti(rest string, useTLS, sentinel bool) (target, error) {
	rest, query, _ := strings.Cut(rest, "?")
	authority, path, _ := strings.Cut(rest, "/")
	o := &redis.UniversalOptions{}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		user, pass, hasPass := strings.Cut(authority[:i], ":")
		var err error
		if o.Username, err = url.PathUnescape(user); err != nil {
			return target{}, badURL("user name is not valid percent-encoding")
		}
		if hasPass {
			if o.Password, err = url.PathUnescape(pass); err != nil {
				return target{}, badURL("password is not valid percent-encoding")
			}
		}
		authority = authority[i+1:]
	}
	defPort := "6379"
	if sentinel {
		defPort = "26379"
	}
	for _, h := range strings.Split(authority, ",") {
		addr, err := hostPort(h, defPort)
		if err != nil {
			return target{}, err
		}
		o.Addrs = append(o.Addrs, addr)
	}
	if sentinel {
		if path == "" || strings.Contains(path, "/") {
			return target{}, badURL("Sentinel form needs the master name as the path: redis+sentinel://host:26379,host2:26379/MASTER")
		}
		name, err := url.PathUnescape(path)
		if err != nil || name == "" {
			return target{}, badURL("master name is not valid percent-encoding")
		}
		o.MasterName = name
	} else {
		if path != "" {
			return target{}, badURL("Cluster form takes no path (a cluster has only database 0)")
		}
		o.IsClusterMode = true
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return target{}, badURL("query is not valid URL encoding")
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "db":
			if !sentinel {
				return target{}, badURL("option db: a cluster has only database 0")
			}
			o.DB, err = strconv.Atoi(v)
			if err == nil && o.DB < 0 {
				err = errors.New("negative")
			}
		case "sentinel_username":
			if !sentinel {
				return target{}, badURL("option %s is for the Sentinel form", k)
			}
			o.SentinelUsername = v
		case "sentinel_password":
			if !sentinel {
				return target{}, badURL("option %s is for the Sentinel form", k)
			}
			o.SentinelPassword = v
		case "client_name":
			o.ClientName = v
		case "dial_timeout":
			o.DialTimeout, err = time.ParseDuration(v)
		case "read_timeout":
			o.ReadTimeout, err = time.ParseDuration(v)
		case "write_timeout":
			o.WriteTimeout, err = time.ParseDuration(v)
		case "pool_size":
			o.PoolSize, err = strconv.Atoi(v)
			if err == nil && o.PoolSize < 1 {
				err = errors.New("must be at least 1")
			}
		default:
			return target{}, badURL("unknown option %q (known: db, sentinel_username, sentinel_password, client_name, dial_timeout, read_timeout, write_timeout, pool_size)", k)
		}
		if err != nil {
			return target{}, badURL("option %s=%q: %v", k, v, err)
		}
	}
	if useTLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12} // server name: each node's host
	}
	return target{multi: o}, nil
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
