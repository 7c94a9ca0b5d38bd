package planner

import (
	"sort"
	"strconv"
	"strings"

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
