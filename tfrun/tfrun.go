package tfrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// ErrNoTerraform is returned by Find when no terraform binary is on PATH.
var ErrNoTerraform = errors.New("no terraform binary on PATH; install Terraform (1.5 or later) or name the binary explicitly")

// Find returns the terraform binary on PATH.
func Find() (string, error) {
	p, err := exec.LookPath("terraform")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoTerraform, err)
	}
	return p, nil
}

// Terraform runs one terraform binary. The zero value is not usable; set
// Binary (Find gives the one on PATH).
type Terraform struct {
	// Binary is the path of the terraform executable.
	Binary string
	// Env holds KEY=value pairs added to this process's environment for
	// every command, e.g. NRUN_SANDBOX_DIR for provisioners. Terraform's own
	// TF_LOG*, TF_INPUT, TF_WORKSPACE and similar are managed by
	// terraform-exec and may not be set here.
	Env []string
	// Output receives terraform's human output (init, plan and apply
	// progress, provisioner output); nil discards it. It is for logs only:
	// results are always read from JSON.
	Output io.Writer
}

// Change is one resource change of a plan.
type Change struct {
	Address string `json:"address"`
	// Action is "create", "update", "delete", "replace" or "read".
	Action string `json:"action"`
}

// Glyph is the change's sign as `terraform plan` prints it.
func (c Change) Glyph() string {
	switch c.Action {
	case "create":
		return "+"
	case "delete":
		return "-"
	case "update":
		return "~"
	case "replace":
		return "-/+"
	default:
		return "<="
	}
}

// String is "+ terraform_data.x[0]".
func (c Change) String() string { return c.Glyph() + " " + c.Address }

// PlanSummary is what a plan would change, counted as `terraform plan`
// counts: a replacement adds one and destroys one.
type PlanSummary struct {
	Add     int      `json:"add"`
	Change  int      `json:"change"`
	Destroy int      `json:"destroy"`
	Changes []Change `json:"changes"` // sorted by address; no-ops left out
	// OutputsChange says that some output value would change even when no
	// resource does.
	OutputsChange bool `json:"outputs_change,omitempty"`
	// Outputs are the root module outputs that would change, sorted by
	// name. Only names and actions: values are never read from the plan.
	Outputs []OutputChange `json:"outputs,omitempty"`
}

// OutputChange is one root module output that a plan would change.
type OutputChange struct {
	Name string `json:"name"`
	// Action is "create", "update" or "delete".
	Action string `json:"action"`
	// Sensitive is set when the configuration declares the output
	// sensitive, or its old or new value is sensitive.
	Sensitive bool `json:"sensitive,omitempty"`
}

// NoChanges reports whether applying would change no resource: the resume
// probe of terraform_apply.
func (s PlanSummary) NoChanges() bool { return s.Add == 0 && s.Change == 0 && s.Destroy == 0 }

// String is the summary line of `terraform plan`.
func (s PlanSummary) String() string {
	if s.NoChanges() {
		return "No changes."
	}
	return fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", s.Add, s.Change, s.Destroy)
}

// Output is one root module output.
type Output struct {
	Value     cty.Value
	Sensitive bool
}

// tf builds a runner in dir; loud runners stream terraform's human output
// to t.Output (show and output print JSON, which stays out of the logs).
func (t *Terraform) tf(dir string, loud bool) (*tfexec.Terraform, error) {
	if t == nil || t.Binary == "" {
		return nil, ErrNoTerraform
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("terraform configuration directory %s does not exist or is not a directory", dir)
	}
	tf, err := tfexec.NewTerraform(dir, t.Binary)
	if err != nil {
		return nil, fmt.Errorf("terraform in %s: %w", dir, err)
	}
	if t.Output != nil && loud {
		tf.SetStdout(t.Output)
		tf.SetStderr(t.Output)
	}
	if len(t.Env) > 0 {
		env := map[string]string{}
		for _, kv := range append(os.Environ(), t.Env...) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		if err := tf.SetEnv(env); err != nil {
			return nil, fmt.Errorf("terraform in %s: %w", dir, err)
		}
	}
	return tf, nil
}

// Init runs `terraform init` in dir. It is idempotent and, for a
// configuration that uses only built-in providers (terraform_data), needs
// no network.
func (t *Terraform) Init(ctx context.Context, dir string) error {
	tf, err := t.tf(dir, true)
	if err != nil {
		return err
	}
	if err := tf.Init(ctx, tfexec.Upgrade(false)); err != nil {
		return fmt.Errorf("terraform init in %s: %w", dir, err)
	}
	return nil
}

// Plan runs init, then `terraform plan` with vars into a saved plan, and
// summarises `terraform show -json` of that plan.
func (t *Terraform) Plan(ctx context.Context, dir string, vars map[string]cty.Value) (PlanSummary, error) {
	tf, err := t.tf(dir, true)
	if err != nil {
		return PlanSummary{}, err
	}
	if err := t.Init(ctx, dir); err != nil {
		return PlanSummary{}, err
	}
	tmp, err := os.MkdirTemp("", "nrun-tfplan-")
	if err != nil {
		return PlanSummary{}, err
	}
	defer os.RemoveAll(tmp)
	varFile, err := writeVars(tmp, vars)
	if err != nil {
		return PlanSummary{}, err
	}
	planFile := filepath.Join(tmp, "plan.tfplan")
	if _, err := tf.Plan(ctx, tfexec.VarFile(varFile), tfexec.Out(planFile)); err != nil {
		return PlanSummary{}, fmt.Errorf("terraform plan in %s: %w", dir, err)
	}
	quiet, err := t.tf(dir, false)
	if err != nil {
		return PlanSummary{}, err
	}
	p, err := quiet.ShowPlanFile(ctx, planFile)
	if err != nil {
		return PlanSummary{}, fmt.Errorf("terraform show of the plan in %s: %w", dir, err)
	}
	return Summarize(p), nil
}

// Summarize counts the resource changes of a JSON plan.
func Summarize(p *tfjson.Plan) PlanSummary {
	var s PlanSummary
	if p == nil {
		return s
	}
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil {
			continue
		}
		a := rc.Change.Actions
		var action string
		switch {
		case a.Replace():
			action = "replace"
			s.Add++
			s.Destroy++
		case a.Create():
			action = "create"
			s.Add++
		case a.Update():
			action = "update"
			s.Change++
		case a.Delete():
			action = "delete"
			s.Destroy++
		case a.Read():
			action = "read"
		default:
			continue // no-op, forget
		}
		s.Changes = append(s.Changes, Change{Address: rc.Address, Action: action})
	}
	sort.Slice(s.Changes, func(i, j int) bool { return s.Changes[i].Address < s.Changes[j].Address })
	for name, oc := range p.OutputChanges {
		if oc == nil || oc.Actions.NoOp() {
			continue
		}
		s.OutputsChange = true
		action := "update"
		switch {
		case oc.Actions.Create():
			action = "create"
		case oc.Actions.Delete():
			action = "delete"
		}
		sensitive := anySensitive(oc.BeforeSensitive) || anySensitive(oc.AfterSensitive)
		if p.Config != nil && p.Config.RootModule != nil {
			if o := p.Config.RootModule.Outputs[name]; o != nil && o.Sensitive {
				sensitive = true
			}
		}
		s.Outputs = append(s.Outputs, OutputChange{Name: name, Action: action, Sensitive: sensitive})
	}
	sort.Slice(s.Outputs, func(i, j int) bool { return s.Outputs[i].Name < s.Outputs[j].Name })
	return s
}

// anySensitive reports whether a before_sensitive/after_sensitive value of
// a JSON plan marks anything: true itself, or true somewhere inside.
func anySensitive(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case []any:
		for _, e := range v {
			if anySensitive(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if anySensitive(e) {
				return true
			}
		}
	}
	return false
}

// Apply runs init, then `terraform apply` with vars, and returns the
// outputs afterwards. Running it again with the same vars changes nothing.
func (t *Terraform) Apply(ctx context.Context, dir string, vars map[string]cty.Value) (map[string]Output, error) {
	tf, err := t.tf(dir, true)
	if err != nil {
		return nil, err
	}
	if err := t.Init(ctx, dir); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "nrun-tfapply-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	varFile, err := writeVars(tmp, vars)
	if err != nil {
		return nil, err
	}
	if err := tf.Apply(ctx, tfexec.VarFile(varFile)); err != nil {
		return nil, fmt.Errorf("terraform apply in %s: %w", dir, err)
	}
	return t.Outputs(ctx, dir)
}

// Outputs reads the root module's outputs from the state in dir.
func (t *Terraform) Outputs(ctx context.Context, dir string) (map[string]Output, error) {
	tf, err := t.tf(dir, false)
	if err != nil {
		return nil, err
	}
	raw, err := tf.Output(ctx)
	if err != nil {
		return nil, fmt.Errorf("terraform output in %s: %w", dir, err)
	}
	out := make(map[string]Output, len(raw))
	for name, m := range raw {
		ty, err := ctyjson.UnmarshalType(m.Type)
		if err != nil {
			return nil, fmt.Errorf("terraform output %q in %s: type: %w", name, dir, err)
		}
		v, err := ctyjson.Unmarshal(m.Value, ty)
		if err != nil {
			return nil, fmt.Errorf("terraform output %q in %s: value: %w", name, dir, err)
		}
		out[name] = Output{Value: v, Sensitive: m.Sensitive}
	}
	return out, nil
}

// writeVars writes vars as a .tfvars.json file readable only by us.
func writeVars(dir string, vars map[string]cty.Value) (string, error) {
	obj := make(map[string]json.RawMessage, len(vars))
	for name, v := range vars {
		// Sensitive marks matter for display, not for Terraform's input.
		v, _ = v.UnmarkDeep()
		if !v.IsWhollyKnown() {
			return "", fmt.Errorf("terraform variable %q is not known yet", name)
		}
		if v.IsNull() {
			// A null means "use the configuration's default".
			continue
		}
		b, err := ctyjson.SimpleJSONValue{Value: v}.MarshalJSON()
		if err != nil {
			return "", fmt.Errorf("terraform variable %q: %w", name, err)
		}
		obj[name] = b
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "nrun.tfvars.json")
	return p, os.WriteFile(p, b, 0o600)
}
