package scim

import (
	"bytes"
	"encoding/json"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

type patchOp struct {
	Op    string          `json:"op"`
	Path  *string         `json:"path"`
	Value json.RawMessage `json:"value"`
}

const maxOperations = 100

// decodeJSON decodes one JSON value with numbers kept as json.Number.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errTrailing
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return errTrailing
	}
	return nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errTrailing = constError("trailing data after the JSON value")

// parsePatch decodes a PatchOp body. Member names are matched
// case-insensitively ("Operations"/"operations", "op"/"Op").
func parsePatch(body []byte) ([]patchOp, *Error) {
	var raw map[string]json.RawMessage
	if err := decodeJSON(body, &raw); err != nil || raw == nil {
		return nil, badSyntax("the body is not a JSON object")
	}
	var opsRaw json.RawMessage
	for k, v := range raw {
		if strings.EqualFold(k, "Operations") {
			opsRaw = v
		}
	}
	var items []json.RawMessage
	if opsRaw == nil || json.Unmarshal(opsRaw, &items) != nil || len(items) == 0 {
		return nil, badSyntax("a PatchOp needs a non-empty Operations array")
	}
	if len(items) > maxOperations {
		return nil, errf(400, typeTooMany, "at most %d operations per PATCH", maxOperations)
	}
	ops := make([]patchOp, 0, len(items))
	for _, it := range items {
		var m map[string]json.RawMessage
		if json.Unmarshal(it, &m) != nil || m == nil {
			return nil, badSyntax("each operation must be a JSON object")
		}
		var op patchOp
		for k, v := range m {
			switch strings.ToLower(k) {
			case "op":
				if json.Unmarshal(v, &op.Op) != nil {
					return nil, badSyntax("op must be a string")
				}
			case "path":
				var p *string
				if json.Unmarshal(v, &p) != nil {
					return nil, badSyntax("path must be a string")
				}
				op.Path = p
			case "value":
				op.Value = v
			}
		}
		op.Op = strings.ToLower(strings.TrimSpace(op.Op))
		switch op.Op {
		case "add", "replace", "remove":
		default:
			return nil, badSyntax("unknown op %q: use add, replace or remove", truncate(op.Op, 20))
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// applyPatch applies the operations to d in order.
func applyPatch(d doc, ops []patchOp) *Error {
	for _, op := range ops {
		var value any
		if len(op.Value) > 0 {
			if err := decodeJSON(op.Value, &value); err != nil {
				return badSyntax("the value of an operation is not valid JSON")
			}
		}
		if op.Path == nil || strings.TrimSpace(*op.Path) == "" {
			if op.Op == "remove" {
				return errf(400, typeNoTarget, "a remove operation needs a path")
			}
			obj, ok := value.(map[string]any)
			if !ok {
				return badValue("an operation without path needs an object value")
			}
			if err := applyObject(d, obj, op.Op); err != nil {
				return err
			}
			continue
		}
		t, err := parseTarget(*op.Path)
		if err != nil {
			return err
		}
		if t.a == nil { // unknown attribute: accepted and ignored
			continue
		}
		if err := apply(d, t, op.Op, value, len(op.Value) > 0 && string(op.Value) != "null"); err != nil {
			return err
		}
	}
	return nil
}

// parseTarget parses a PATCH path. An unknown attribute yields a target
// with a nil attribute (ignored, like unknown attributes in a body).
func parseTarget(path string) (target, *Error) {
	if len(path) > 512 {
		return target{}, badPath("path too long")
	}
	p, err := parsePathCached(strings.TrimSpace(path))
	if err != nil {
		// A bare extension URN or a URN key with a sub-attribute the
		// parser may refuse: resolve it as a key.
		if t, whole, ok := resolveKey(strings.TrimSpace(path)); ok && whole == nil {
			return t, nil
		}
		return target{}, badPath("cannot parse path %q", truncate(path, 80))
	}
	sub := p.AttributePath.SubAttributeName()
	t, ok := resolveAttr(p.AttributePath.URI(), p.AttributePath.AttributeName, sub)
	if !ok {
		if p.AttributePath.URI() != "" && extensionByURN(p.AttributePath.URI()) == nil &&
			!strings.EqualFold(p.AttributePath.URI(), URNCore) {
			return target{}, nil // unknown extension: ignored
		}
		if sub != "" {
			if _, known := resolveAttr(p.AttributePath.URI(), p.AttributePath.AttributeName, ""); known {
				return target{}, badPath("unknown sub-attribute in path %q", truncate(path, 80))
			}
		}
		return target{}, nil
	}
	if p.ValueExpression != nil {
		if sub != "" {
			return target{}, badPath("path %q has a sub-attribute before the filter", truncate(path, 80))
		}
		if t.a.Kind != kComplex {
			return target{}, badPath("%s cannot be filtered", t.a.Name)
		}
		t.filter = p.ValueExpression
		if s := p.SubAttributeName(); s != "" {
			if t.sub = t.a.sub(s); t.sub == nil {
				return target{}, badPath("unknown sub-attribute %q of %s", truncate(s, 40), t.a.Name)
			}
		}
	}
	if t.sub != nil && t.a.Kind != kComplex {
		return target{}, badPath("%s has no sub-attributes", t.a.Name)
	}
	return t, nil
}

// applyObject applies a value object (a PATCH without path, or a POST/PUT
// body): each key is an attribute, a dotted sub-attribute or a URN path,
// and updates only what it names.
func applyObject(d doc, obj map[string]any, op string) *Error {
	for k, v := range obj {
		t, whole, ok := resolveKey(k)
		if !ok {
			continue
		}
		if whole != nil {
			inner, isObj := v.(map[string]any)
			if !isObj {
				if v == nil {
					continue
				}
				return badValue("%s must be an object", whole.ID)
			}
			for ik, iv := range inner {
				name, sub, _ := strings.Cut(ik, ".")
				it, ok := resolveAttr(whole.ID, name, sub)
				if !ok {
					continue
				}
				if err := apply(d, it, op, iv, true); err != nil {
					return err
				}
			}
			continue
		}
		if err := apply(d, t, op, v, true); err != nil {
			return err
		}
	}
	return nil
}

// apply performs one add/replace/remove on a resolved target. hasValue says
// whether the operation carried a value (for remove).
func apply(d doc, t target, op string, value any, hasValue bool) *Error {
	if t.a.Mutability == "readOnly" {
		return nil
	}
	switch {
	case t.a.Multi:
		return applyMulti(d, t, op, value, hasValue)
	case t.a.Kind == kComplex:
		return applyComplex(d, t, op, value)
	}
	c := container(d, t.sc, true)
	defer cleanContainer(d, t.sc)
	if op == "remove" {
		if t.a.Name == "active" && t.sc == &coreSchema {
			return badValue("active cannot be removed; set it to true or false")
		}
		delete(c, t.a.Name)
		return nil
	}
	v, present, err := coerceScalar(t.a, nil, value)
	if err != nil {
		return err
	}
	if !present {
		if t.a.Name == "active" && t.sc == &coreSchema {
			return badValue("active must be true or false")
		}
		delete(c, t.a.Name)
		return nil
	}
	c[t.a.Name] = v
	return nil
}

func applyComplex(d doc, t target, op string, value any) *Error {
	c := container(d, t.sc, true)
	defer cleanContainer(d, t.sc)
	cur, _ := c[t.a.Name].(map[string]any)
	isManager := t.sc == &enterpriseSchema && t.a.Name == "manager"
	if t.filter != nil {
		// manager[value eq "x"]: applies only when the current value matches.
		if cur == nil || !evalEntry(cur, t.filter) {
			if op == "remove" {
				return nil
			}
			cur = nil
		}
	}
	if t.sub != nil {
		if op == "remove" {
			if cur != nil {
				delete(cur, t.sub.Name)
				if len(cur) == 0 {
					delete(c, t.a.Name)
				}
			}
			return nil
		}
		v, present, err := coerceScalar(t.sub, t.a, value)
		if err != nil {
			return err
		}
		if !present || (isManager && t.sub.Name == "value" && v == "") {
			if cur != nil {
				delete(cur, t.sub.Name)
				if len(cur) == 0 || isManager {
					delete(c, t.a.Name)
				}
			}
			return nil
		}
		if cur == nil {
			cur = map[string]any{}
			c[t.a.Name] = cur
		}
		cur[t.sub.Name] = v
		return nil
	}
	if op == "remove" {
		delete(c, t.a.Name)
		return nil
	}
	m, err := coerceComplex(t.a, value)
	if err != nil {
		return err
	}
	if m == nil {
		if isManager || op == "replace" {
			delete(c, t.a.Name)
		}
		return nil
	}
	if isManager || cur == nil {
		// A reference is replaced as a whole.
		c[t.a.Name] = m
		return nil
	}
	for k, v := range m { // merge: siblings stay
		cur[k] = v
	}
	return nil
}

func applyMulti(d doc, t target, op string, value any, hasValue bool) *Error {
	list, _ := d[t.a.Name].([]any)
	defer func() {
		if l, ok := d[t.a.Name].([]any); ok {
			out := l[:0]
			for _, e := range l {
				if m, _ := e.(map[string]any); m != nil && meaningful(m) {
					out = append(out, m)
				}
			}
			if len(out) == 0 {
				delete(d, t.a.Name)
			} else {
				d[t.a.Name] = out
			}
		}
	}()
	entries := func() []map[string]any {
		out := make([]map[string]any, 0, len(list))
		for _, e := range list {
			if m, _ := e.(map[string]any); m != nil {
				out = append(out, m)
			}
		}
		return out
	}
	switch {
	case t.filter == nil && t.sub == nil:
		switch op {
		case "remove":
			if !hasValue || value == nil {
				delete(d, t.a.Name)
				return nil
			}
			rm, err := coerceMulti(t.a, value)
			if err != nil {
				return err
			}
			out := list[:0]
			for _, e := range entries() {
				drop := false
				for _, r := range rm {
					if rv, _ := r.(map[string]any)["value"].(string); rv != "" && strings.EqualFold(rv, str(e["value"])) {
						drop = true
					}
				}
				if !drop {
					out = append(out, e)
				}
			}
			d[t.a.Name] = out
			return nil
		case "replace":
			nl, err := coerceMulti(t.a, value)
			if err != nil {
				return err
			}
			d[t.a.Name] = nl
			return nil
		default: // add: merge by type, never duplicate
			nl, err := coerceMulti(t.a, value)
			if err != nil {
				return err
			}
			for _, n := range nl {
				list = mergeEntry(list, n.(map[string]any))
			}
			if len(list) > maxEntries {
				return badValue("%s would have more than %d entries", t.a.Name, maxEntries)
			}
			d[t.a.Name] = list
			return nil
		}
	case t.filter == nil: // emails.value
		es := entries()
		if op == "remove" {
			for _, e := range es {
				delete(e, t.sub.Name)
			}
			return nil
		}
		v, present, err := coerceScalar(t.sub, t.a, value)
		if err != nil {
			return err
		}
		var tgt map[string]any
		switch {
		case len(es) == 1:
			tgt = es[0]
		case len(es) == 0:
		default:
			for _, e := range es {
				if p, _ := e["primary"].(bool); p {
					tgt = e
				}
			}
			if tgt == nil {
				return errf(400, typeNoTarget, "%s has several entries; use a filter such as %s[type eq \"work\"].%s", t.a.Name, t.a.Name, t.sub.Name)
			}
		}
		if !present {
			if tgt != nil {
				delete(tgt, t.sub.Name)
			}
			return nil
		}
		if tgt == nil {
			d[t.a.Name] = []any{map[string]any{t.sub.Name: v}}
			return nil
		}
		tgt[t.sub.Name] = v
		return nil
	}
	// Filtered: x[type eq "work"] or x[type eq "work"].sub
	var matches []map[string]any
	for _, e := range entries() {
		if evalEntry(e, t.filter) {
			matches = append(matches, e)
		}
	}
	if op == "remove" {
		if t.sub != nil {
			for _, m := range matches {
				delete(m, t.sub.Name)
			}
			return nil
		}
		out := list[:0]
		for _, e := range entries() {
			if !evalEntry(e, t.filter) {
				out = append(out, e)
			}
		}
		d[t.a.Name] = out
		return nil
	}
	var patch map[string]any
	if t.sub != nil {
		v, present, err := coerceScalar(t.sub, t.a, value)
		if err != nil {
			return err
		}
		if !present {
			for _, m := range matches {
				delete(m, t.sub.Name)
			}
			return nil
		}
		patch = map[string]any{t.sub.Name: v}
	} else {
		m, err := coerceComplex(t.a, value)
		if err != nil {
			return err
		}
		if m == nil {
			return nil
		}
		patch = m
	}
	if len(matches) == 0 {
		entry, ok := eqConstraints(t.a, t.filter)
		if !ok {
			return errf(400, typeNoTarget, "no %s entry matches the filter, and the filter cannot describe a new one (use eq and and only)", t.a.Name)
		}
		for k, v := range patch {
			entry[k] = v
		}
		if len(list) >= maxEntries {
			return badValue("%s would have more than %d entries", t.a.Name, maxEntries)
		}
		d[t.a.Name] = append(list, entry)
		return nil
	}
	for _, m := range matches {
		for k, v := range patch {
			m[k] = v
		}
	}
	return nil
}

// mergeEntry adds n to list: an entry of the same type is updated in place
// (Entra's "Add" means set), an identical value is not duplicated.
func mergeEntry(list []any, n map[string]any) []any {
	nt, _ := n["type"].(string)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m == nil {
			continue
		}
		mt, _ := m["type"].(string)
		sameType := nt != "" && strings.EqualFold(mt, nt)
		sameValue := nt == "" && mt == "" && n["value"] != nil && strings.EqualFold(str(m["value"]), str(n["value"]))
		if sameType || sameValue {
			for k, v := range n {
				m[k] = v
			}
			return list
		}
	}
	return append(list, n)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// eqConstraints turns a filter made only of eq and and on sub-attributes
// into the entry it describes (type eq "work" → {"type":"work"}).
func eqConstraints(a *attrDef, e filter.Expression) (map[string]any, bool) {
	out := map[string]any{}
	var walk func(e filter.Expression) bool
	walk = func(e filter.Expression) bool {
		switch x := e.(type) {
		case *filter.AttributeExpression:
			if x.Operator != filter.EQ || x.AttributePath.SubAttribute != nil || x.AttributePath.URIPrefix != nil {
				return false
			}
			sd := a.sub(x.AttributePath.AttributeName)
			if sd == nil {
				return false
			}
			v, present, err := coerceScalar(sd, a, compareValue(x.CompareValue))
			if err != nil || !present {
				return false
			}
			out[sd.Name] = v
			return true
		case *filter.LogicalExpression:
			return x.Operator == filter.AND && walk(x.Left) && walk(x.Right)
		}
		return false
	}
	if !walk(e) {
		return nil, false
	}
	return out, true
}
