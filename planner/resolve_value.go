package planner

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
)

// renderValue renders a value in HCL-like syntax for the plan: strings
// quoted, collections in brackets, objects and maps with sorted keys, and
// "(known after apply)" for whatever is not known yet.
func renderValue(v cty.Value) string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

func writeValue(b *strings.Builder, v cty.Value) {
	if v == cty.NilVal {
		b.WriteString("null")
		return
	}
	if !v.IsKnown() {
		b.WriteString("(known after apply)")
		return
	}
	if v.IsNull() {
		b.WriteString("null")
		return
	}
	t := v.Type()
	switch {
	case t == cty.String:
		b.WriteString(strconv.Quote(v.AsString()))
	case t == cty.Number:
		b.WriteString(v.AsBigFloat().Text('f', -1))
	case t == cty.Bool:
		if v.True() {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		b.WriteByte('[')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			_, ev := it.Element()
			writeValue(b, ev)
		}
		b.WriteByte(']')
	case t.IsMapType() || t.IsObjectType():
		m := v.AsValueMap()
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteByte(' ')
			if hclIdent(k) {
				b.WriteString(k)
			} else {
				b.WriteString(strconv.Quote(k))
			}
			b.WriteString(" = ")
			writeValue(b, m[k])
		}
		if len(keys) > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('}')
	default:
		b.WriteString(t.FriendlyName())
	}
}

func hclIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c == '-' || c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// appendJSON appends v as JSON in the form ctyjson.Unmarshal reads back
// for v's type, for the wholly known values for_each produces (strings,
// numbers, bools, objects, maps, lists, sets, tuples). It is what
// ctyjson.Marshal writes, without its reflection, which dominated planning
// thousands of instances. ok is false for anything else (unknown values,
// capsules); the caller then uses ctyjson.Marshal.
func appendJSON(b []byte, v cty.Value) ([]byte, bool) {
	if !v.IsKnown() || v.IsMarked() {
		return b, false
	}
	if v.IsNull() {
		return append(b, "null"...), true
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return appendJSONString(b, v.AsString()), true
	case t == cty.Bool:
		if v.True() {
			return append(b, "true"...), true
		}
		return append(b, "false"...), true
	case t == cty.Number:
		return append(b, v.AsBigFloat().Text('f', -1)...), true
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		b = append(b, '[')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			_, ev := it.Element()
			var ok bool
			if b, ok = appendJSON(b, ev); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case t.IsObjectType():
		// In attribute-name order, as ElementIterator walks an object,
		// without the iterator's allocations per attribute: a node is
		// written once per instance, thousands of times in a plan.
		var buf [16]string
		names := buf[:0]
		for name := range t.AttributeTypes() {
			names = append(names, name)
		}
		slices.Sort(names)
		b = append(b, '{')
		for i, name := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, name)
			b = append(b, ':')
			var ok bool
			if b, ok = appendJSON(b, v.GetAttr(name)); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case t.IsMapType():
		// ElementIterator walks a map in key order.
		b = append(b, '{')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			k, ev := it.Element()
			b = appendJSONString(b, k.AsString())
			b = append(b, ':')
			var ok bool
			if b, ok = appendJSON(b, ev); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	return b, false
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does (HTML characters
// escaped too), so the bytes match ctyjson.Marshal's.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
		case r == utf8RuneError:
			b = append(b, `\ufffd`...)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

const utf8RuneError = '\uFFFD'

// RenderValue renders v as the plan shows values: HCL-like, strings
// quoted, keys sorted. The executor shows output values with it.
func RenderValue(v cty.Value) string { return renderValue(v) }
