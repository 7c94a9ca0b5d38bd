package lang

import (
	"fmt"
	"strings"
	"testing"
)

// minimalArgs writes the required arguments of an action with values of
// the right type, so every action type can be decoded and validated.
func minimalArgs(spec *ActionSpec) string {
	var b strings.Builder
	for _, a := range spec.Attrs {
		if !a.Required {
			continue
		}
		switch {
		case a.Name == "terraform":
			b.WriteString("    terraform = terraform.tf\n")
		case a.Name == "effect":
			b.WriteString("    effect = \"none\"\n")
		case a.Duration:
			fmt.Fprintf(&b, "    %s = \"1s\"\n", a.Name)
		case a.Type.FriendlyName() == "string":
			fmt.Fprintf(&b, "    %s = \"x\"\n", a.Name)
		case a.Type.FriendlyName() == "number":
			fmt.Fprintf(&b, "    %s = 1\n", a.Name)
		case a.Type.FriendlyName() == "bool":
			fmt.Fprintf(&b, "    %s = true\n", a.Name)
		case a.Type.FriendlyName() == "list of string":
			fmt.Fprintf(&b, "    %s = [\"x\"]\n", a.Name)
		}
	}
	return b.String()
}

// TestEveryAction decodes and validates every action type with its
// required arguments and the step's target, and checks the implied effect.
func TestEveryAction(t *testing.T) {
	for _, typ := range ActionTypes() {
		spec := ActionSpecs[typ]
		t.Run(typ, func(t *testing.T) {
			src := fmt.Sprintf("terraform \"tf\" {\n  dir = \".\"\n}\nstep \"s\" {\n  target = \"member-1\"\n  action %q {\n%s  }\n}\n", typ, minimalArgs(spec))
			rb, diags := Parse(map[string][]byte{"x.nrun.hcl": []byte(src)})
			diags = append(diags, Validate(rb, nil)...)
			if diags.HasErrors() {
				t.Fatalf("%s\n%s", diags.Error(), src)
			}
			act := rb.Steps[0].Action
			if act.Type != typ || act.Spec() != spec {
				t.Errorf("decoded %q", act.Type)
			}
			want := spec.Effect
			if typ == "exec" {
				want = EffectNone // declared above
			}
			if act.Effect != want {
				t.Errorf("effect = %q, want %q", act.Effect, want)
			}
		})
	}
}
