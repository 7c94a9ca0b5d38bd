package lang

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestSchemasConsistent(t *testing.T) {
	for name, spec := range ActionSpecs {
		if spec.Doc == "" {
			t.Errorf("action %s has no Doc", name)
		}
		if spec.Effect == "" {
			t.Errorf("action %s has no effect", name)
		}
		if spec.TargetAttr != "" && spec.Attr(spec.TargetAttr) == nil {
			t.Errorf("action %s: TargetAttr %q is not an argument", name, spec.TargetAttr)
		}
		for _, a := range spec.Attrs {
			if a.Doc == "" || a.Type == cty.NilType {
				t.Errorf("action %s argument %s lacks Doc or Type", name, a.Name)
			}
		}
	}
	for name, spec := range CheckSpecs {
		if spec.Doc == "" {
			t.Errorf("check %s has no Doc", name)
		}
		if spec.TargetAttr != "" && spec.Attr(spec.TargetAttr) == nil {
			t.Errorf("check %s: TargetAttr %q is not an argument", name, spec.TargetAttr)
		}
		for _, a := range spec.Attrs {
			if a.Name == checkTimeoutAttr || a.Name == checkIntervalAttr {
				t.Errorf("check %s redeclares %s", name, a.Name)
			}
			if a.Doc == "" || a.Type == cty.NilType {
				t.Errorf("check %s argument %s lacks Doc or Type", name, a.Name)
			}
		}
	}
}
