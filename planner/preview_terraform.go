package planner

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/tfrun"
)

// TerraformPreviewStatus says whether a terraform_apply instance has a
// Terraform plan summary.
type TerraformPreviewStatus string

// Terraform preview statuses.
const (
	// TerraformPlanned: terraform init and plan ran at plan time; the
	// counts, changes and outputs are Terraform's.
	TerraformPlanned TerraformPreviewStatus = "planned"
	// TerraformDeferred: the directory or the variables are known only
	// while applying (step.x.output, a sensitive for_each), or an earlier
	// step applies the same directory first, so a plan now would describe
	// the wrong state. Reason says which.
	TerraformDeferred TerraformPreviewStatus = "deferred"
	// TerraformOffline: the plan was made from an inventory file
	// (-inventory); Terraform was not run.
	TerraformOffline TerraformPreviewStatus = "offline"
	// TerraformFailed: terraform init or plan failed; Reason has its error.
	// The apply would most likely fail the same way.
	TerraformFailed TerraformPreviewStatus = "failed"
)

// TerraformPreview is what `terraform plan` says a terraform_apply instance
// would change, computed at plan time by PreviewTerraform
// (ActionPlan.Terraform). It records addresses, actions and output names,
// never a value, so no sensitive variable or output can show through it.
type TerraformPreview struct {
	// Dir is the configuration directory as the runbook's terraform block
	// gives it, "" when it is not known at plan time.
	Dir    string                 `json:"dir,omitempty"`
	Status TerraformPreviewStatus `json:"status"`
	// Reason says why there is no summary (deferred, offline, failed).
	Reason string `json:"reason,omitempty"`
	// Add, Change and Destroy count as `terraform plan` does: a
	// replacement adds one and destroys one.
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	// Changes are the resource changes sorted by address; no-ops are left
	// out.
	Changes []TerraformChange `json:"changes,omitempty"`
	// Outputs are the root module outputs that would change, by name.
	Outputs []TerraformOutputChange `json:"outputs,omitempty"`
}

// TerraformChange is one resource change.
type TerraformChange struct {
	Address string `json:"address"`
	// Action is "create", "update", "delete", "replace" or "read".
	Action string `json:"action"`
}

// TerraformOutputChange is one root module output that would change. Its
// value is never recorded.
type TerraformOutputChange struct {
	Name string `json:"name"`
	// Action is "create", "update" or "delete".
	Action    string `json:"action"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// SummaryLine is the summary line of `terraform plan`: "Plan: 2 to add, 0
// to change, 1 to destroy." or "No changes.", for a planned preview.
func (t *TerraformPreview) SummaryLine() string {
	if t.Add == 0 && t.Change == 0 && t.Destroy == 0 {
		return "No changes."
	}
	return fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", t.Add, t.Change, t.Destroy)
}

// PreviewOptions tune PreviewTerraform.
type PreviewOptions struct {
	// BaseDir is what relative terraform dirs are resolved against: the
	// runbook's directory, as apply resolves them.
	BaseDir string
	// View is the cluster view the plan was made from; data sources used
	// in vars are filled from it. Nil with Offline.
	View *cview.View
	// Offline marks a plan made from an inventory file: Terraform is not
	// run, and every terraform_apply instance says so.
	Offline bool
	// Terraform runs terraform; nil finds the binary on PATH
	// (tfrun.Find). When there is none, every instance is marked failed.
	Terraform *tfrun.Terraform
}

// PreviewTerraform runs `terraform init` and `terraform plan` (into a
// temporary plan file, read back with `terraform show -json`; nothing is
// applied) for every terraform_apply instance of p whose directory and
// variables are known at plan time, and records the result in
// ActionPlan.Terraform. rb and inputs must be those p was resolved from.
//
// Instances run in plan order, one at a time. An instance that applies a
// directory an earlier instance of the plan also applies is deferred:
// Terraform would plan against the state before the earlier apply. A
// failed terraform plan is recorded on the instance and reported as a
// warning (the plan itself stays valid); the warnings are also appended to
// p.Diagnostics.
//
// Unlike Resolve this is not pure: it runs terraform, which reads the
// configuration's state (and, for a configuration with data sources or
// providers, whatever they read).
func PreviewTerraform(ctx context.Context, rb *lang.Runbook, inputs map[string]cty.Value, p *Plan, opts PreviewOptions) hcl.Diagnostics {
	if rb == nil || p == nil {
		return nil
	}
	var todo []*Instance
	for _, in := range p.Instances {
		if in.Action != nil && actionPreview(in.Action.Type) == lang.PreviewTerraform {
			todo = append(todo, in)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if opts.Offline {
		for _, in := range todo {
			in.Action.Terraform = &TerraformPreview{Status: TerraformOffline,
				Reason: "the plan was made from an inventory file (-inventory); plan against the live cluster to see what Terraform would change"}
		}
		return nil
	}

	pv := &previewer{rb: rb, plan: p, opts: opts, sens: lang.NewSensitivity(rb), applied: map[string]string{}}
	// The plan's own scope; a plan read from a file has none, so it is
	// built the same way from the view.
	if pv.sc = p.Scope(); pv.sc == nil {
		pv.sc, _ = NewScope(rb, inputs, opts.View)
	}
	pv.secrets = sensitiveStrings(rb, inputs)
	var diags hcl.Diagnostics
	for _, in := range todo {
		if ctx.Err() != nil {
			in.Action.Terraform = &TerraformPreview{Status: TerraformFailed, Reason: "interrupted before terraform plan ran: " + ctx.Err().Error()}
			continue
		}
		diags = append(diags, pv.preview(ctx, in)...)
	}
	for _, d := range diags {
		p.Diagnostics = append(p.Diagnostics, planDiagnostic(d))
	}
	return diags
}

type previewer struct {
	rb      *lang.Runbook
	plan    *Plan
	opts    PreviewOptions
	sc      *lang.Scope
	sens    *lang.Sensitivity
	secrets []string
	// applied maps a resolved directory to the first instance that
	// applies it.
	applied map[string]string
	tf      *tfrun.Terraform
	tfErr   error
}

func (pv *previewer) preview(ctx context.Context, in *Instance) hcl.Diagnostics {
	st := pv.rb.Step(in.Step)
	if st == nil || st.Action == nil || pv.sc == nil {
		in.Action.Terraform = &TerraformPreview{Status: TerraformDeferred, Reason: "the step could not be evaluated at plan time"}
		return nil
	}
	t := &TerraformPreview{}
	in.Action.Terraform = t

	block, reason := pv.block(st)
	if block == nil {
		t.Status, t.Reason = TerraformDeferred, reason
		return nil
	}
	dir, reason := pv.dir(block)
	if dir == "" {
		t.Status, t.Reason = TerraformDeferred, reason
		return nil
	}
	t.Dir = dir
	abs := dir
	if !filepath.IsAbs(abs) && pv.opts.BaseDir != "" {
		abs = filepath.Join(pv.opts.BaseDir, abs)
	}
	abs = filepath.Clean(abs)
	if first, ok := pv.applied[abs]; ok {
		t.Status = TerraformDeferred
		t.Reason = fmt.Sprintf("%s applies %s first; this apply's changes depend on what that one leaves, so terraform plan runs only when this step applies", first, dir)
		return nil
	}
	pv.applied[abs] = in.Addr.String()

	vars, reason := pv.vars(st, in)
	if vars == nil {
		t.Status, t.Reason = TerraformDeferred, reason
		return nil
	}

	tf, err := pv.terraform()
	if err == nil {
		var sum tfrun.PlanSummary
		sum, err = tf.Plan(ctx, abs, vars)
		if err == nil {
			va := st.Action.Args["vars"]
			pv.fill(t, sum, va != nil && pv.sens.Uses(va.Expr))
			return nil
		}
	}
	t.Status, t.Reason = TerraformFailed, pv.scrub(terraformError(err))
	rng := st.Action.DeclRange
	return hcl.Diagnostics{{
		Severity: hcl.DiagWarning,
		Summary:  "Terraform plan failed",
		Detail: fmt.Sprintf("terraform plan for %s in %s failed, so the plan shows no Terraform changes for it: %s. The apply will run the same terraform init and plan first; fix the configuration or the variables (or install terraform) and plan again.",
			in.Addr.String(), dir, t.Reason),
		Subject: &rng,
	}}
}

// block finds the terraform block the action's terraform argument names:
// terraform.NAME, or a string naming the block.
func (pv *previewer) block(st *lang.Step) (*lang.Terraform, string) {
	attr := st.Action.Args["terraform"]
	if attr == nil {
		return nil, "the action has no terraform argument"
	}
	if tr, d := hcl.AbsTraversalForExpr(attr.Expr); !d.HasErrors() && tr.RootName() == "terraform" && len(tr) >= 2 {
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			if b := pv.rb.Terraform(a.Name); b != nil {
				return b, ""
			}
		}
	}
	v, d := attr.Expr.Value(pv.sc.StepEvalContext(st, nil))
	if !d.HasErrors() && v.IsWhollyKnown() && !v.IsNull() && v.Type() == cty.String {
		if b := pv.rb.Terraform(v.AsString()); b != nil {
			return b, ""
		}
	}
	return nil, "the terraform directory is known only while applying"
}

// dir evaluates the block's dir (variables and locals only).
func (pv *previewer) dir(b *lang.Terraform) (string, string) {
	if b.Dir == nil {
		return "", fmt.Sprintf("terraform block %q has no dir", b.Name)
	}
	if pv.sens.Uses(b.Dir) {
		return "", fmt.Sprintf("terraform block %q's dir uses a sensitive variable", b.Name)
	}
	v, d := b.Dir.Value(pv.sc.EvalContext(nil))
	if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || v.Type() != cty.String {
		return "", fmt.Sprintf("terraform block %q's dir is known only while applying", b.Name)
	}
	return v.AsString(), ""
}

// vars evaluates the action's vars for this instance; nil when they are
// not wholly known.
func (pv *previewer) vars(st *lang.Step, in *Instance) (map[string]cty.Value, string) {
	out := map[string]cty.Value{}
	attr := st.Action.Args["vars"]
	if attr == nil {
		return out, ""
	}
	var each *lang.Each
	if in.Each != nil {
		key := in.Key
		if in.Parent != "" {
			if parent := pv.plan.Instance(in.Parent); parent != nil {
				key = parent.Key
			}
		}
		ty, err := ctyjson.UnmarshalType(in.Each.Type)
		if err == nil {
			var v cty.Value
			if v, err = ctyjson.Unmarshal(in.Each.Value, ty); err == nil {
				each = &lang.Each{Key: cty.StringVal(key), Value: v}
			}
		}
	}
	outer := st
	if st.Outer != nil {
		outer = st.Outer
	}
	if in.Each == nil && outer.ForEach != nil {
		// for_each computed from a sensitive variable: Resolve did not
		// record each.value, and neither is it rebuilt here.
		return nil, "each.value is not recorded in the plan (it comes from a sensitive variable), so the variables are known only while applying"
	}
	v, d := attr.Expr.Value(pv.sc.StepEvalContext(st, each))
	if d.HasErrors() {
		return nil, "the variables could not be evaluated at plan time"
	}
	if !v.IsWhollyKnown() {
		return nil, "the variables are known only while applying (they use a value an earlier step produces)"
	}
	if v.IsNull() || !(v.Type().IsMapType() || v.Type().IsObjectType()) {
		return out, ""
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		out[k.AsString()] = e
	}
	return out, ""
}

func (pv *previewer) terraform() (*tfrun.Terraform, error) {
	if pv.opts.Terraform != nil {
		return pv.opts.Terraform, nil
	}
	if pv.tf == nil && pv.tfErr == nil {
		bin, err := tfrun.Find()
		if err != nil {
			pv.tfErr = err
		} else {
			pv.tf = &tfrun.Terraform{Binary: bin}
		}
	}
	return pv.tf, pv.tfErr
}

// fill copies a summary into t. When the variables carry a sensitive
// runbook variable, Terraform does not know it is secret, so any address
// that would spell one of the runbook's sensitive values is redacted.
func (pv *previewer) fill(t *TerraformPreview, s tfrun.PlanSummary, sensitiveVars bool) {
	t.Status = TerraformPlanned
	t.Add, t.Change, t.Destroy = s.Add, s.Change, s.Destroy
	for _, c := range s.Changes {
		addr := c.Address
		if sensitiveVars {
			addr = pv.scrub(addr)
		}
		t.Changes = append(t.Changes, TerraformChange{Address: addr, Action: c.Action})
	}
	for _, o := range s.Outputs {
		t.Outputs = append(t.Outputs, TerraformOutputChange{Name: o.Name, Action: o.Action, Sensitive: o.Sensitive})
	}
}

// scrub replaces the runbook's sensitive values in s.
func (pv *previewer) scrub(s string) string {
	for _, v := range pv.secrets {
		s = strings.ReplaceAll(s, v, "(sensitive)")
	}
	return s
}

// sensitiveStrings are the sensitive variables' string values (and the
// strings inside their collections), longest first so a value that
// contains another is replaced whole. Numbers and bools are left out:
// replacing every "3" would hide the addresses, not a secret.
func sensitiveStrings(rb *lang.Runbook, inputs map[string]cty.Value) []string {
	var out []string
	var walk func(v cty.Value)
	walk = func(v cty.Value) {
		v, _ = v.UnmarkDeep()
		if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
			return
		}
		switch {
		case v.Type() == cty.String:
			if s := v.AsString(); s != "" {
				out = append(out, s)
			}
		case v.Type().IsCollectionType() || v.Type().IsObjectType() || v.Type().IsTupleType():
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				walk(e)
			}
		}
	}
	for _, vr := range rb.Variables {
		if !vr.Sensitive {
			continue
		}
		v, ok := inputs[vr.Name]
		if !ok {
			v = vr.Default
		}
		walk(v)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// terraformError shortens terraform's error output to one line: the
// command that failed, then each "Error:" summary with the source line it
// names. Warnings (a missing CLI configuration file) and the prose around
// them are left out; the apply logs terraform's whole output.
func terraformError(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	head := lines[0]
	var errs []string
	for i := 1; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		msg, ok := strings.CutPrefix(l, "Error: ")
		if !ok {
			continue
		}
		if strings.HasPrefix(msg, "Terraform encountered problems during initialisation") {
			continue
		}
		for j := i + 1; j < len(lines) && j <= i+3; j++ {
			if on := strings.TrimSpace(lines[j]); strings.HasPrefix(on, "on ") {
				msg += " (" + strings.TrimSuffix(on, ":") + ")"
				break
			}
		}
		errs = append(errs, msg)
	}
	if len(errs) == 0 {
		return head
	}
	return head + ": " + strings.Join(errs, "; ")
}
