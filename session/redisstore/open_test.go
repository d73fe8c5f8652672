package redisstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		tg, err := parseURL("redis://u:p%40ss@10.0.0.1:6380/3?dial_timeout=2s")
		if err != nil {
			t.Fatal(err)
		}
		o := tg.single
		if o == nil || tg.multi != nil || o.Addr != "10.0.0.1:6380" || o.DB != 3 || o.Username != "u" ||
			o.Password != "p@ss" || o.DialTimeout != 2*time.Second || o.TLSConfig != nil {
			t.Fatalf("got %+v", o)
		}
		tg, err = parseURL("rediss://cache.example.com")
		if err != nil || tg.single.TLSConfig == nil || tg.single.Addr != "cache.example.com:6379" {
			t.Fatalf("rediss: %+v, %v", tg.single, err)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		tg, err := parseURL("redis+sentinel://:mpw@s1:26379,s2,[::1]:26380/mymaster?db=2&sentinel_password=spw&dial_timeout=1500ms")
		if err != nil {
			t.Fatal(err)
		}
		o := tg.multi
		if o == nil || tg.single != nil || o.MasterName != "mymaster" || o.DB != 2 || o.Password != "mpw" ||
			o.SentinelPassword != "spw" || o.DialTimeout != 1500*time.Millisecond || o.TLSConfig != nil || o.IsClusterMode {
			t.Fatalf("got %+v", o)
		}
		if want := []string{"s1:26379", "s2:26379", "[::1]:26380"}; !slices.Equal(o.Addrs, want) {
			t.Fatalf("Addrs = %v, want %v", o.Addrs, want)
		}
		tg, err = parseURL("rediss+sentinel://s1/m")
		if err != nil || tg.multi.TLSConfig == nil || tg.multi.MasterName != "m" {
			t.Fatalf("rediss+sentinel: %+v, %v", tg.multi, err)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		tg, err := parseURL("redis+cluster://admin:pw@h1:7000,h2?pool_size=20")
		if err != nil {
			t.Fatal(err)
		}
		o := tg.multi
		if !o.IsClusterMode || o.MasterName != "" || o.Username != "admin" || o.Password != "pw" || o.PoolSize != 20 {
			t.Fatalf("got %+v", o)
		}
		if want := []string{"h1:7000", "h2:6379"}; !slices.Equal(o.Addrs, want) {
			t.Fatalf("Addrs = %v, want %v", o.Addrs, want)
		}
		tg, err = parseURL("rediss+cluster://h1:7000")
		if err != nil || tg.multi.TLSConfig == nil || !tg.multi.IsClusterMode {
			t.Fatalf("rediss+cluster: %+v, %v", tg.multi, err)
		}
	})
	bad := []struct{ url, says string }{
		{"127.0.0.1:6379", "want redis://"},
		{"http://u:secret@h", "scheme"},
		{"redis+sentinel://u:secret@s1,s2", "master name"},
		{"redis+sentinel://u:secret@s1/a/b", "master name"},
		{"redis+sentinel://u:secret@s1:0/m", "port"},
		{"redis+sentinel://u:secret@s1:99999/m", "port"},
		{"redis+sentinel://u:secret@s1:x/m", "port"},
		{"redis+sentinel://u:secret@s1,,s2/m", "empty host"},
		{"redis+sentinel://u:secret@s1/m?db=x", "db"},
		{"redis+sentinel://u:secret@s1/m?db=-1", "db"},
		{"redis+sentinel://u:secret@s1/m?color=red", "unknown option"},
		{"redis+cluster://u:secret@h1/2", "no path"},
		{"redis+cluster://u:secret@h1?db=1", "database 0"},
		{"redis+cluster://u:secret@h1?sentinel_password=x", "Sentinel"},
		{"redis+cluster://u:secret@h1?pool_size=0", "pool_size"},
		{"redis+cluster://u:secret@h1?read_timeout=soon", "read_timeout"},
		{"redis+cluster://u:secret@::1", "brackets"},
		{"redis+cluster://u:secret%zz@h1", "percent"},
		{"redis://u:secret@h1:bad/0", ""},
		{"redis://u:secret@h1/notadb", ""},
		{"redis://u:secret@h1/0?nope=1", ""},
	}
	for _, c := range bad {
		_, err := parseURL(c.url)
		if !errors.Is(err, ErrBadURL) {
			t.Errorf("%s: %v, want ErrBadURL", c.url, err)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %q does not say %q", c.url, err, c.says)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error repeats the password: %q", c.url, err)
		}
	}
}
