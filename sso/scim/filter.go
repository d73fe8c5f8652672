package scim

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
	"github.com/ssogate/ssogate/sso/directory"
)

const maxFilterLen = 2048

// parseFilter parses a SCIM filter. Entra writes
// `emails[type eq "work"].value eq "x"`, which RFC 7644's grammar (and the
// parser) lacks; it is rewritten to the equivalent
// `emails[type eq "work" and value eq "x"]` first.
func parseFilter(s string) (filter.Expression, *Error) {
	if len(s) > maxFilterLen {
		return nil, badFilter("filter longer than %d characters", maxFilterLen)
	}
	if e, ok := fastEqFilter(s); ok {
		return e, nil
	}
	rw, ok := rewriteValuePathSub(s)
	if !ok {
		return nil, badFilter("cannot parse filter; supported: userName, externalId, id and emails[type eq \"work\"].value with eq and and")
	}
	e, err := filter.ParseFilter([]byte(rw))
	if err != nil || e == nil {
		return nil, badFilter("cannot parse filter; supported: userName, externalId, id and emails[type eq \"work\"].value with eq and and")
	}
	return e, nil
}

// rewriteValuePathSub moves a trailing ".sub op value" after a "]" into the
// brackets. It leaves the text alone where no such form occurs. ok is false
// for unbalanced brackets or quotes.
func rewriteValuePathSub(s string) (string, bool) {
	for iter := 0; iter < 8; iter++ {
		inStr, esc := false, false
		open := -1
		done := true
		for i := 0; i < len(s); i++ {
			c := s[i]
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '[':
				if open >= 0 {
					return "", false
				}
				open = i
			case ']':
				if open < 0 {
					return "", false
				}
				if i+1 < len(s) && s[i+1] == '.' {
					j := i + 2
					for j < len(s) && isNameChar(s[j]) {
						j++
					}
					sub := s[i+2 : j]
					if sub == "" {
						return "", false
					}
					k := skipSpace(s, j)
					opStart := k
					for k < len(s) && isNameChar(s[k]) {
						k++
					}
					op := s[opStart:k]
					if op == "" || k == j {
						return "", false
					}
					end := k
					if !strings.EqualFold(op, "pr") {
						v := skipSpace(s, k)
						if v == k {
							return "", false
						}
						ve, ok := scanValue(s, v)
						if !ok {
							return "", false
						}
						end = ve
					}
					inner := s[open+1 : i]
					if hasOrToken(inner) {
						return "", false // the parser has no grouping inside brackets
					}
					cond := sub + s[j:end]
					s = s[:open+1] + inner + " and " + cond + "]" + s[end:]
					done = false
				}
				open = -1
			}
			if !done {
				break
			}
		}
		if inStr || open >= 0 {
			return "", false
		}
		if done {
			return s, true
		}
	}
	return "", false
}

// hasOrToken reports an "or" (or "not") keyword outside string literals.
func hasOrToken(s string) bool {
	inStr, esc := false, false
	word := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && inStr {
			switch {
			case esc:
				esc = false
			case s[i] == '\\':
				esc = true
			case s[i] == '"':
				inStr = false
			}
			continue
		}
		if i < len(s) && isNameChar(s[i]) {
			word++
			continue
		}
		if w := strings.ToLower(s[i-word : i]); w == "or" || w == "not" {
			return true
		}
		word = 0
		if i < len(s) && s[i] == '"' {
			inStr = true
		}
	}
	return false
}

func isNameChar(c byte) bool {
	return c == '_' || c == '-' || c == '$' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func skipSpace(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// scanValue returns the end of a filter comparison value starting at i.
func scanValue(s string, i int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	if s[i] == '"' {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return 0, false
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != ')' && s[j] != ']' {
		j++
	}
	return j, j > i
}

// compareValue decodes a filter string literal (the parser keeps escapes).
func compareValue(v any) any {
	s, ok := v.(string)
	if !ok || !strings.ContainsRune(s, '\\') {
		return v
	}
	var out string
	if json.Unmarshal([]byte(`"`+s+`"`), &out) == nil {
		return out
	}
	return s
}

// --- planning: every query must be served by an index -----------------------

// lookup finds the candidates of a filter through the store's indexed
// lookups. The whole filter is then evaluated in memory on them. ok is false
// when no indexed attribute narrows the filter.
func lookup(ctx context.Context, st directory.Store, companyID int64, e filter.Expression) (map[string]*directory.Employee, bool, error) {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		l, lok, err := lookup(ctx, st, companyID, x.Left)
		if err != nil {
			return nil, false, err
		}
		r, rok, err := lookup(ctx, st, companyID, x.Right)
		if err != nil {
			return nil, false, err
		}
		if x.Operator == filter.AND {
			switch {
			case lok && rok:
				for id := range l {
					if _, in := r[id]; !in {
						delete(l, id)
					}
				}
				return l, true, nil
			case lok:
				return l, true, nil
			case rok:
				return r, true, nil
			}
			return nil, false, nil
		}
		if lok && rok { // or: union of two indexed lookups
			for id, v := range r {
				l[id] = v
			}
			return l, true, nil
		}
		return nil, false, nil
	case *filter.AttributeExpression:
		if x.Operator != filter.EQ {
			return nil, false, nil
		}
		val, isStr := compareValue(x.CompareValue).(string)
		if !isStr {
			return nil, false, nil
		}
		t, ok := resolveAttr(x.AttributePath.URI(), x.AttributePath.AttributeName, x.AttributePath.SubAttributeName())
		if !ok && strings.EqualFold(x.AttributePath.AttributeName, "id") && x.AttributePath.SubAttribute == nil {
			return byID(ctx, st, companyID, val)
		}
		if !ok {
			return nil, false, nil
		}
		switch {
		case t.sc == &coreSchema && t.a.Name == "userName" && t.sub == nil:
			return one(st.FindEmployeeByUserName(ctx, companyID, val))
		case t.sc == &coreSchema && t.a.Name == "externalId" && t.sub == nil:
			rows, err := st.FindEmployeesByExternalID(ctx, companyID, val)
			if err != nil && !errors.Is(err, directory.ErrNotFound) {
				return nil, false, err
			}
			out := map[string]*directory.Employee{}
			for i := range rows {
				if rows[i].Visible() {
					out[rows[i].ID] = &rows[i]
				}
			}
			return out, true, nil
		case t.sc == &coreSchema && t.a.Name == "emails" && t.sub != nil && t.sub.Name == "value":
			// Only the work email is indexed; other types never match
			// through emails.value.
			return one(st.FindEmployeeByEmail(ctx, companyID, val))
		}
		return nil, false, nil
	case *filter.ValuePath:
		// emails[type eq "work" and value eq "x"] (also the rewritten form)
		if !strings.EqualFold(x.AttributePath.AttributeName, "emails") || x.AttributePath.SubAttribute != nil {
			return nil, false, nil
		}
		if u := x.AttributePath.URI(); u != "" && !strings.EqualFold(u, URNCore) {
			return nil, false, nil
		}
		if v, ok := entryValueEq(x.ValueFilter); ok {
			return one(st.FindEmployeeByEmail(ctx, companyID, v))
		}
		return nil, false, nil
	}
	return nil, false, nil
}

// entryValueEq finds a `value eq "x"` conjunct in an entry filter.
func entryValueEq(e filter.Expression) (string, bool) {
	switch x := e.(type) {
	case *filter.AttributeExpression:
		if x.Operator == filter.EQ && strings.EqualFold(x.AttributePath.AttributeName, "value") && x.AttributePath.SubAttribute == nil {
			s, ok := compareValue(x.CompareValue).(string)
			return s, ok
		}
	case *filter.LogicalExpression:
		if x.Operator == filter.AND {
			if v, ok := entryValueEq(x.Left); ok {
				return v, true
			}
			return entryValueEq(x.Right)
		}
	}
	return "", false
}

func byID(ctx context.Context, st directory.Store, companyID int64, id string) (map[string]*directory.Employee, bool, error) {
	if !validID(id) {
		return map[string]*directory.Employee{}, true, nil
	}
	return one(st.GetEmployee(ctx, companyID, id))
}

func one(e *directory.Employee, err error) (map[string]*directory.Employee, bool, error) {
	out := map[string]*directory.Employee{}
	if err != nil {
		if errors.Is(err, directory.ErrNotFound) {
			return out, true, nil
		}
		return nil, false, err
	}
	if e.Visible() {
		out[e.ID] = e
	}
	return out, true, nil
}

func sortEmployees(m map[string]*directory.Employee) []*directory.Employee {
	out := make([]*directory.Employee, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// --- in-memory evaluation -------------------------------------------------

// evalResource evaluates a filter against a rendered resource.
func evalResource(d doc, e filter.Expression) bool {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		if x.Operator == filter.AND {
			return evalResource(d, x.Left) && evalResource(d, x.Right)
		}
		return evalResource(d, x.Left) || evalResource(d, x.Right)
	case *filter.NotExpression:
		return !evalResource(d, x.Expression)
	case *filter.ValuePath:
		t, ok := resolveAttr(x.AttributePath.URI(), x.AttributePath.AttributeName, "")
		if !ok || t.a.Kind != kComplex {
			return false
		}
		for _, m := range entriesOf(d, t) {
			if evalEntry(m, x.ValueFilter) {
				return true
			}
		}
		return false
	case *filter.AttributeExpression:
		name := x.AttributePath.AttributeName
		if x.AttributePath.URIPrefix == nil && x.AttributePath.SubAttribute == nil && strings.EqualFold(name, "id") {
			return compare(d["id"], x.Operator, compareValue(x.CompareValue), true)
		}
		t, ok := resolveAttr(x.AttributePath.URI(), name, x.AttributePath.SubAttributeName())
		if !ok {
			return false
		}
		if t.a.Kind == kComplex {
			sub := t.sub
			if sub == nil {
				sub = t.a.sub("value") // manager eq "x" means manager.value
			}
			if sub == nil {
				return false
			}
			for _, m := range entriesOf(d, t) {
				if compare(m[sub.Name], x.Operator, compareValue(x.CompareValue), sub.CaseExact) {
					return true
				}
			}
			return false
		}
		c := container(d, t.sc, false)
		var v any
		if c != nil {
			v = c[t.a.Name]
		}
		return compare(v, x.Operator, compareValue(x.CompareValue), t.a.CaseExact)
	}
	return false
}

func entriesOf(d doc, t target) []map[string]any {
	c := container(d, t.sc, false)
	if c == nil {
		return nil
	}
	switch v := c[t.a.Name].(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		out := make([]map[string]any, 0, len(v))
		for _, e := range v {
			if m, _ := e.(map[string]any); m != nil {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// evalEntry evaluates an entry filter (type eq "work") on one entry of a
// multi-valued or complex attribute.
func evalEntry(m map[string]any, e filter.Expression) bool {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		if x.Operator == filter.AND {
			return evalEntry(m, x.Left) && evalEntry(m, x.Right)
		}
		return evalEntry(m, x.Left) || evalEntry(m, x.Right)
	case *filter.NotExpression:
		return !evalEntry(m, x.Expression)
	case *filter.AttributeExpression:
		if x.AttributePath.SubAttribute != nil || x.AttributePath.URIPrefix != nil {
			return false
		}
		var v any
		for k, val := range m {
			if strings.EqualFold(k, x.AttributePath.AttributeName) {
				v = val
			}
		}
		exact := strings.EqualFold(x.AttributePath.AttributeName, "$ref")
		return compare(v, x.Operator, compareValue(x.CompareValue), exact)
	}
	return false
}

// compare applies a SCIM comparison. Strings compare case-insensitively
// unless caseExact (userName, emails and types are caseExact false).
func compare(have any, op filter.CompareOperator, want any, caseExact bool) bool {
	if op == filter.PR {
		switch h := have.(type) {
		case nil:
			return false
		case string:
			return h != ""
		}
		return true
	}
	switch h := have.(type) {
	case bool:
		w, ok := want.(bool)
		if !ok {
			return false
		}
		switch op {
		case filter.EQ:
			return h == w
		case filter.NE:
			return h != w
		}
		return false
	case string:
		w, ok := want.(string)
		if !ok {
			return false
		}
		h, w = strings.TrimSpace(h), strings.TrimSpace(w)
		if !caseExact {
			h, w = strings.ToLower(h), strings.ToLower(w)
		}
		switch op {
		case filter.EQ:
			return h == w
		case filter.NE:
			return h != w
		case filter.CO:
			return strings.Contains(h, w)
		case filter.SW:
			return strings.HasPrefix(h, w)
		case filter.EW:
			return strings.HasSuffix(h, w)
		case filter.GT:
			return h > w
		case filter.GE:
			return h >= w
		case filter.LT:
			return h < w
		case filter.LE:
			return h <= w
		}
	case nil:
		return op == filter.NE && want != nil
	}
	return false
}

// --- attributes / excludedAttributes (RFC 7644 §3.9) -----------------------

type projection struct {
	hasInclude bool // attributes= given: return only those (+ id, schemas)
	include    []target
	wholeIn    []*schemaDef
	exclude    []target
	wholeEx    []*schemaDef
}

func parseProjection(attrs, excluded string) (*projection, *Error) {
	if attrs == "" && excluded == "" {
		return nil, nil
	}
	p := &projection{}
	parse := func(list string, ts *[]target, wh *[]*schemaDef) *Error {
		if len(list) > 2048 {
			return badValue("attribute list too long")
		}
		for _, item := range strings.Split(list, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			t, whole, ok := resolveKey(item)
			switch {
			case !ok:
				continue // unknown attributes are simply not returned
			case whole != nil:
				*wh = append(*wh, whole)
			default:
				*ts = append(*ts, t)
			}
		}
		return nil
	}
	if err := parse(attrs, &p.include, &p.wholeIn); err != nil {
		return nil, err
	}
	if err := parse(excluded, &p.exclude, &p.wholeEx); err != nil {
		return nil, err
	}
	p.hasInclude = attrs != ""
	return p, nil
}

// apply projects an output resource. id and schemas are always returned.
func (p *projection) apply(d map[string]any) map[string]any {
	if p == nil {
		return d
	}
	if p.hasInclude {
		out := map[string]any{"id": d["id"], "schemas": d["schemas"]}
		for _, s := range p.wholeIn {
			if s == &coreSchema {
				for k, v := range d {
					if extensionByURN(k) == nil {
						out[k] = v
					}
				}
				continue
			}
			if v, ok := d[s.ID]; ok {
				out[s.ID] = v
			}
		}
		for _, t := range p.include {
			copyTarget(d, out, t)
		}
		d = out
	}
	for _, s := range p.wholeEx {
		if s != &coreSchema {
			delete(d, s.ID)
		}
	}
	for _, t := range p.exclude {
		c := container(d, t.sc, false)
		if c == nil {
			continue
		}
		if t.sub == nil {
			delete(c, t.a.Name)
		} else {
			for _, m := range entriesOf(d, t) {
				delete(m, t.sub.Name)
			}
		}
		cleanContainer(d, t.sc)
	}
	return d
}

func copyTarget(from, to map[string]any, t target) {
	src := container(from, t.sc, false)
	if src == nil {
		return
	}
	v, ok := src[t.a.Name]
	if !ok {
		return
	}
	dst := container(to, t.sc, true)
	if t.sub == nil {
		dst[t.a.Name] = v
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if sv, ok := x[t.sub.Name]; ok {
			m, _ := dst[t.a.Name].(map[string]any)
			if m == nil {
				m = map[string]any{}
				dst[t.a.Name] = m
			}
			m[t.sub.Name] = sv
		}
	case []any:
		var l []any
		for _, e := range x {
			if m, _ := e.(map[string]any); m != nil {
				if sv, ok := m[t.sub.Name]; ok {
					l = append(l, map[string]any{t.sub.Name: sv})
				}
			}
		}
		if l != nil {
			dst[t.a.Name] = l
		}
	}
	cleanContainer(to, t.sc)
}
