package scim

import (
	"strings"
	"sync"

	filter "github.com/scim2/filter-parser/v2"
)

// The filter grammar is general and slow (hundreds of µs for a long
// extension path). Entra sends a handful of distinct PATCH paths over and
// over, and one filter shape per lookup, so two shortcuts keep provisioning
// off that cost without changing a single result:
//   - parsed paths are cached (read-only afterwards), bounded in size;
//   - the plain `attr eq "value"` filter, Entra's matching query, is built
//     directly; TestFastFilterMatchesParser checks it against the grammar.

const pathCacheMax = 512

var pathCache struct {
	sync.RWMutex
	m map[string]filter.Path
}

// parsePathCached is filter.ParsePath with a cache of successful parses.
func parsePathCached(path string) (filter.Path, error) {
	pathCache.RLock()
	p, ok := pathCache.m[path]
	pathCache.RUnlock()
	if ok {
		return p, nil
	}
	p, err := filter.ParsePath([]byte(path))
	if err != nil {
		return p, err
	}
	pathCache.Lock()
	if pathCache.m == nil || len(pathCache.m) >= pathCacheMax {
		pathCache.m = make(map[string]filter.Path, 64)
	}
	pathCache.m[path] = p
	pathCache.Unlock()
	return p, nil
}

// fastEqFilter recognises `name eq "value"` where name is a plain attribute
// name (letters and digits, no URN, no sub-attribute) and value has no
// escapes, and returns the expression the grammar would build for it.
func fastEqFilter(s string) (filter.Expression, bool) {
	name, rest, ok := strings.Cut(s, " ")
	if !ok || name == "" || len(rest) < 5 {
		return nil, false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return nil, false
		}
	}
	if !strings.EqualFold(rest[:3], "eq ") {
		return nil, false
	}
	v := rest[3:]
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	v = v[1 : len(v)-1]
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '"' || c == '\\' || c < 0x20 {
			return nil, false
		}
	}
	return &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: name}, Operator: filter.EQ, CompareValue: v}, true
}
