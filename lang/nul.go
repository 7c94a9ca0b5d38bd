package lang

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// FindNUL reports where the first NUL byte is in the known strings of v
// (map keys included): "" for v itself, else a description such as
// "element 2" or "the key \"A\"". A NUL cannot be passed to a process (an
// argument or an environment variable is a C string), so exec would fail
// in the middle of a run; other actions would send a truncated or
// rejected string to an API. With reveal false, map keys are not quoted
// (they may be secret).
func FindNUL(v cty.Value, reveal bool) (where string, found bool) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return "", false
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return "", strings.IndexByte(v.AsString(), 0) >= 0
	case t.IsMapType() || t.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			name := "a key"
			if reveal {
				name = fmt.Sprintf("the key %q", k.AsString())
			}
			if strings.IndexByte(k.AsString(), 0) >= 0 {
				return name, true
			}
			if w, ok := FindNUL(e, reveal); ok {
				return join("the value of "+name, w), true
			}
		}
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			if w, ok := FindNUL(e, reveal); ok {
				return join(fmt.Sprintf("element %d", i), w), true
			}
		}
	}
	return "", false
}

func join(outer, inner string) string {
	if inner == "" {
		return outer
	}
	return inner + " of " + outer
}

// NULDiagnostic is the error for a NUL byte at where (from FindNUL) in the
// value of argument name.
func NULDiagnostic(name, where string, subject hcl.Range) *hcl.Diagnostic {
	at := "The value"
	if where != "" {
		at = capitalize(where)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "NUL byte in a string",
		Detail: fmt.Sprintf("%s of the argument %q contains a NUL byte (\\u0000). Command arguments and environment variables cannot hold one, and APIs truncate or reject it, so the step would fail in the middle of a run. Remove the NUL byte; if it comes from a variable or data source, fix that value or strip it with replace(VALUE, \"\\u0000\", \"\").",
			at, name),
		Subject: subject.Ptr(),
	}
}
