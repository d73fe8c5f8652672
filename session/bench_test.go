package session_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testenv"
	"github.com/ssogate/ssogate/session"
	"github.com/ssogate/ssogate/session/memstore"
	"github.com/ssogate/ssogate/session/redisstore"
)

// benchCurrent measures Manager.Current for a signed-in browser.
func benchCurrent(b *testing.B, st session.Store, touchEvery time.Duration) {
	m := &session.Manager{Store: st, Cookie: session.NewCookieConfig(session.BrowserCookie, true), TouchEvery: touchEvery}
	w := httptest.NewRecorder()
	s, err := m.Login(context.Background(), w, httptest.NewRequest("POST", "/", nil), employee())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Delete(context.Background(), s.ID) })
	r := httptest.NewRequest("GET", "/c/acme/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Current(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func redisStore(b *testing.B) session.Store {
	url, prefix := testenv.RedisURL(b)
	st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st
}

func BenchmarkCurrent(b *testing.B) {
	b.Run("memstore", func(b *testing.B) { benchCurrent(b, memstore.New(memstore.Options{}), 0) })
	// Touch on every request: the write path a TouchEvery of 1m avoids.
	b.Run("memstore/touch", func(b *testing.B) { benchCurrent(b, memstore.New(memstore.Options{}), time.Nanosecond) })
	b.Run("redis", func(b *testing.B) { benchCurrent(b, redisStore(b), 0) })
	b.Run("redis/touch", func(b *testing.B) { benchCurrent(b, redisStore(b), time.Nanosecond) })
}
