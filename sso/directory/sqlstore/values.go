package sqlstore

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssogate/ssogate/sso/directory"
)

// Fold is the key userName, email and department are matched by, on both
// databases: surrounding white space removed, then Unicode simple lower
// case (strings.ToLower). It is computed in Go, never by the database, so
// SQLite and PostgreSQL agree on non-ASCII text.
func Fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// foldOrNull is Fold, with an empty key stored as NULL (not unique).
func foldOrNull(s string) any {
	if k := Fold(s); k != "" {
		return k
	}
	return nil
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// sqliteTime is the fixed-width text form of a time in SQLite: it sorts
// as text in time order.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// norm brings a time to what the store keeps: UTC, microseconds.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// clock returns the store's current time, normalised.
func (s *Store) clock() time.Time { return norm(s.now()) }

// tv encodes a time for the dialect.
func (s *Store) tv(t time.Time) any {
	t = norm(t)
	if s.dialect == DialectSQLite {
		return t.Format(sqliteTime)
	}
	return t
}

// ntv encodes an optional time (nil is NULL).
func (s *Store) ntv(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.tv(*t)
}

// dbTime scans a time column of either dialect; a NULL leaves Valid false.
type dbTime struct {
	T     time.Time
	Valid bool
}

func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		d.T, d.Valid = time.Time{}, false
		return nil
	case time.Time:
		d.T, d.Valid = norm(v), true
		return nil
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	}
	return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
}

func (d *dbTime) parse(v string) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("sqlstore: bad stored time %q: %w", v, err)
	}
	d.T, d.Valid = norm(t), true
	return nil
}

// ptr returns the time, or nil for NULL.
func (d dbTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}

// dbString scans a nullable text column into "" for NULL.
type dbString string

func (d *dbString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = ""
	case string:
		*d = dbString(v)
	case []byte:
		*d = dbString(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a string", src)
	}
	return nil
}

// Limits, in characters (runes) for text and bytes for binary values.
const (
	maxKey    = 256      // userName, email, external id, object id, slug, client id
	maxText   = 1024     // names and every other short text
	maxLong   = 64 << 10 // log details, JSON changes, SCIM extras, certificates
	maxURIs   = 64       // redirect URIs of one OAuth client
	maxURILen = 2048
)

// checker collects the first problem with a value.
type checker struct{ err error }

func (c *checker) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s", directory.ErrInvalid, fmt.Sprintf(format, args...))
	}
}

// text checks that v is valid UTF-8 without NUL bytes and at most max
// characters long.
func (c *checker) text(field, v string, max int) {
	if !utf8.ValidString(v) {
		c.fail("%s is not valid UTF-8", field)
		return
	}
	if strings.IndexByte(v, 0) >= 0 {
		c.fail("%s contains a NUL character", field)
		return
	}
	if n := utf8.RuneCountInString(v); n > max {
		c.fail("%s is %d characters long; the limit is %d", field, n, max)
	}
}

// required is text plus "not empty after trimming".
func (c *checker) required(field, v string, max int) {
	if strings.TrimSpace(v) == "" {
		c.fail("%s is empty", field)
		return
	}
	c.text(field, v, max)
}

func (c *checker) company(id int64) {
	if id <= 0 {
		c.fail("company id %d is not a valid id", id)
	}
}

func (c *checker) bytes(field string, v []byte, max int) {
	if len(v) > max {
		c.fail("%s is %d bytes long; the limit is %d", field, len(v), max)
	}
}
