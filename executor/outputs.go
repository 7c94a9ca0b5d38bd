package executor

import (
	"encoding/json"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/nrun-dev/nrun/planner"
)

// OutputValue is the value of one output block at the end of a run that
// finished, for the views to print. It is already redacted.
type OutputValue struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Sensitive   bool   `json:"sensitive,omitempty"`
	// Value is the value as JSON. It is absent when the output is
	// sensitive, when it has no known value (Error says why), and when
	// it holds a secret the redactor hides (Text shows it redacted).
	Value json.RawMessage `json:"value,omitempty"`
	// Text is the value as the plan renders values (HCL-like), or
	// "<sensitive>".
	Text string `json:"text"`
	// Error says why the output has no value.
	Error string `json:"error,omitempty"`
}

// SensitiveText is how a sensitive output is shown.
const SensitiveText = "<sensitive>"

// outputs evaluates the runbook's output blocks in the run's scope, the
// one step arguments were evaluated in, so step.NAME.output is what the
// step printed in this process.
func (r *runner) outputs() []OutputValue {
	var out []OutputValue
	for _, o := range r.cfg.Runbook.Outputs {
		ov := OutputValue{Name: o.Name, Description: o.Description, Sensitive: o.Sensitive}
		if o.Sensitive {
			ov.Text = SensitiveText
			out = append(out, ov)
			continue
		}
		r.scMu.Lock()
		v, diags := o.Value.Value(r.sc.EvalContext(nil))
		r.scMu.Unlock()
		switch {
		case diags.HasErrors():
			ov.Error = r.red.String(diags.Error())
		case !v.IsWhollyKnown():
			ov.Error = "not known in this process: a step it refers to finished before a resume"
		default:
			ov.Text = r.red.String(planner.RenderValue(v))
			if b, err := ctyjson.Marshal(v, cty.DynamicPseudoType); err == nil && r.red.String(string(b)) == string(b) {
				// The JSON of a dynamic value is {"value":...,"type":...}.
				var wrapped struct {
					Value json.RawMessage `json:"value"`
				}
				if json.Unmarshal(b, &wrapped) == nil {
					ov.Value = wrapped.Value
				}
			}
		}
		if ov.Error != "" {
			ov.Text = "(" + ov.Error + ")"
		}
		out = append(out, ov)
	}
	return out
}
