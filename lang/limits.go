package lang

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Evaluation limits. A runbook is evaluated by validate, plan and apply
// alike, and one call such as setproduct over three ranges or
// format("%999999999d", 1) would otherwise build gigabytes before anything
// could refuse it. Functions whose result size follows from their
// arguments are checked before they run; every function's result and
// arguments are checked after, so a value past the limits cannot grow
// further through a chain of calls.
const (
	// MaxElements is the most elements one collection built or taken by
	// a function may hold.
	MaxElements = 100000
	// MaxStringBytes is the longest string a function may build or take.
	MaxStringBytes = 1 << 24
)

// guarded wraps f so that it refuses to build or take values past the
// limits, with an error that hcl reports at the call.
func guarded(name string, f function.Function) function.Function {
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type:        f.ReturnTypeForValues,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			for _, a := range args {
				if err := sizeOK(a, "an argument"); err != nil {
					return cty.NilVal, err
				}
			}
			if err := precheck(name, args); err != nil {
				return cty.NilVal, err
			}
			v, err := f.Call(args)
			if err != nil {
				return v, err
			}
			return v, sizeOK(v, "the result")
		},
	})
}

// sizeOK checks the top level of v: its length as a string or collection.
// Nested values were checked when the function that built them returned.
func sizeOK(v cty.Value, what string) error {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		if n := len(v.AsString()); n > MaxStringBytes {
			return stringTooLong(what, n)
		}
	case t.IsCollectionType() || t.IsTupleType():
		if n := v.LengthInt(); n > MaxElements {
			return tooManyElements(what, n)
		}
	}
	return nil
}

func stringTooLong(what string, n int) error {
	return fmt.Errorf("%s would be a string of %d bytes, more than the %d bytes nrun allows in one value; a runbook needs no such string, so check the arguments", what, n, MaxStringBytes)
}

func tooManyElements(what string, n int) error {
	return fmt.Errorf("%s would have %d elements, more than the %d nrun allows in one collection; narrow the inputs (a data source filter, slice(...)) or split the work over several runbooks", what, n, MaxElements)
}

// formatWidthRe finds the width and precision of each verb of a format
// string.
var formatWidthRe = regexp.MustCompile(`%[-+# 0]*(\d*)(?:\.(\d*))?`)

// precheck refuses, from its arguments, a call whose result would pass
// the limits, before it is built.
func precheck(name string, args []cty.Value) error {
	known := func(v cty.Value, t cty.Type) bool {
		return v.IsKnown() && !v.IsNull() && v.Type().Equals(t)
	}
	switch name {
	case "setproduct":
		n := 1
		for _, a := range args {
			if !a.IsKnown() || a.IsNull() || !a.CanIterateElements() {
				return nil
			}
			n *= a.LengthInt()
			if n > MaxElements {
				return tooManyElements("the result", n)
			}
		}
	case "format", "formatlist":
		if len(args) == 0 || !known(args[0], cty.String) {
			return nil
		}
		for _, m := range formatWidthRe.FindAllStringSubmatch(args[0].AsString(), -1) {
			for _, d := range m[1:] {
				if w, err := strconv.Atoi(d); d != "" && (err != nil || w > MaxStringBytes) {
					return fmt.Errorf("the format %q pads a value to more than %d bytes, the longest string nrun allows; use a smaller width or precision", m[0], MaxStringBytes)
				}
			}
		}
	case "replace", "regex_replace":
		// At worst every position of the string matches and is
		// replaced: len(str)+1 copies of the replacement.
		if len(args) == 3 && known(args[0], cty.String) && known(args[2], cty.String) {
			s, r := len(args[0].AsString()), len(args[2].AsString())
			if n := s + (s+1)*r; r > 0 && n > MaxStringBytes {
				return stringTooLong("the result", n)
			}
		}
	case "indent":
		if len(args) == 2 && known(args[0], cty.Number) && known(args[1], cty.String) {
			spaces, _ := args[0].AsBigFloat().Int64()
			s := args[1].AsString()
			lines := int64(1)
			for i := 0; i < len(s); i++ {
				if s[i] == '\n' {
					lines++
				}
			}
			if n := int64(len(s)) + lines*spaces; spaces > MaxStringBytes || n > MaxStringBytes {
				return stringTooLong("the result", int(min(n, 1<<62)))
			}
		}
	}
	return nil
}
