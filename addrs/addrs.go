package addrs

import (
	"fmt"
	"strconv"
	"strings"
)

// Step is the static address of a step block: step.NAME for a top-level step,
// or step.OUTER.step.NAME for a step nested in a composite step.
type Step struct {
	// Outer is the name of the enclosing composite step, empty for a
	// top-level step.
	Outer string
	// Name is the step's own label.
	Name string
}

// TopStep returns the address of a top-level step.
func TopStep(name string) Step { return Step{Name: name} }

// Nested reports whether the step lives inside a composite step.
func (s Step) Nested() bool { return s.Outer != "" }

// Parent returns the address of the enclosing composite step. It is only
// meaningful when Nested is true.
func (s Step) Parent() Step { return Step{Name: s.Outer} }

// String returns the canonical form, step.NAME or step.OUTER.step.NAME.
func (s Step) String() string {
	if s.Outer != "" {
		return "step." + s.Outer + ".step." + s.Name
	}
	return "step." + s.Name
}

// Key is a for_each instance key. The zero Key means "no for_each".
type Key struct {
	Value string
	Valid bool
}

// StringKey returns a valid key holding s.
func StringKey(s string) Key { return Key{Value: s, Valid: true} }

// NoKey is the key of a step without for_each.
var NoKey = Key{}

// String returns the key in index form, ["value"], or "" for NoKey.
func (k Key) String() string {
	if !k.Valid {
		return ""
	}
	return "[" + strconv.Quote(k.Value) + "]"
}

// Instance is the address of one run of a step: a top-level step with its
// for_each key, or an inner step of one instance of a composite step. Inner
// steps share their composite's key; they have no for_each of their own.
type Instance struct {
	Step Step
	Key  Key
}

// String returns the canonical instance address:
//
//	step.snapshot
//	step.upgrade["s1"]
//	step.retire["s1"].step.stop
func (i Instance) String() string {
	if i.Step.Outer != "" {
		return "step." + i.Step.Outer + i.Key.String() + ".step." + i.Step.Name
	}
	return "step." + i.Step.Name + i.Key.String()
}

// Less orders instances by their string form, which is the deterministic
// order used wherever instances are listed.
func (i Instance) Less(j Instance) bool { return i.String() < j.String() }

// ParseInstance parses the canonical form produced by Instance.String.
func ParseInstance(s string) (Instance, error) {
	var inst Instance
	rest, ok := strings.CutPrefix(s, "step.")
	if !ok {
		return inst, fmt.Errorf("address %q must start with \"step.\"", s)
	}
	name, rest := cutIdent(rest)
	if name == "" {
		return inst, fmt.Errorf("address %q: missing step name after \"step.\"", s)
	}
	inst.Step.Name = name
	if strings.HasPrefix(rest, "[") {
		k, r, err := cutKey(rest)
		if err != nil {
			return inst, fmt.Errorf("address %q: %v", s, err)
		}
		inst.Key, rest = StringKey(k), r
	}
	if rest == "" {
		return inst, nil
	}
	inner, ok := strings.CutPrefix(rest, ".step.")
	if !ok {
		return inst, fmt.Errorf("address %q: unexpected %q", s, rest)
	}
	iname, r := cutIdent(inner)
	if iname == "" || r != "" {
		return inst, fmt.Errorf("address %q: bad inner step name", s)
	}
	inst.Step = Step{Outer: inst.Step.Name, Name: iname}
	return inst, nil
}

// ParseStep parses step.NAME or step.OUTER.step.NAME.
func ParseStep(s string) (Step, error) {
	inst, err := ParseInstance(s)
	if err != nil {
		return Step{}, err
	}
	if inst.Key.Valid {
		return Step{}, fmt.Errorf("address %q names an instance, not a step", s)
	}
	return inst.Step, nil
}

func cutIdent(s string) (string, string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			i++
			continue
		}
		break
	}
	return s[:i], s[i:]
}

func cutKey(s string) (string, string, error) {
	// s starts with [" ; find the closing "] honouring escapes.
	if len(s) < 2 || s[1] != '"' {
		return "", "", fmt.Errorf("key must be a quoted string")
	}
	for i := 2; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			if i+1 >= len(s) || s[i+1] != ']' {
				return "", "", fmt.Errorf("key must end with \"]")
			}
			k, err := strconv.Unquote(s[1 : i+1])
			if err != nil {
				return "", "", fmt.Errorf("bad key: %v", err)
			}
			return k, s[i+2:], nil
		}
	}
	return "", "", fmt.Errorf("unterminated key")
}
