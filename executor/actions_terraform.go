package executor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/tfrun"
)

// fillTerraformScope gives every terraform.NAME a known dir, so that
// terraform_apply's `terraform = terraform.NAME` evaluates; outputs stay
// empty until an apply (or a probe) of that directory has read them.
func (r *runner) fillTerraformScope() {
	r.scMu.Lock()
	defer r.scMu.Unlock()
	if r.sc == nil {
		return
	}
	for _, t := range r.cfg.Runbook.Terraforms {
		if v, ok := r.sc.Terraform[t.Name]; ok && v.IsWhollyKnown() {
			continue
		}
		if t.Dir == nil {
			continue
		}
		dv, diags := t.Dir.Value(r.sc.EvalContext(nil))
		if diags.HasErrors() || !dv.IsWhollyKnown() || dv.IsNull() || dv.Type() != cty.String {
			continue
		}
		r.sc.SetTerraform(t.Name, cty.ObjectVal(map[string]cty.Value{
			"dir":     cty.StringVal(r.resolvePath(dv.AsString())),
			"outputs": cty.EmptyObjectVal,
		}))
	}
}

// terraformDir is the working directory terraform_apply's terraform
// argument names: terraform.NAME (an object with dir) or a block's name.
func (r *runner) terraformDir(v cty.Value) (name, dir string, err error) {
	if v == cty.NilVal || v.IsNull() {
		return "", "", errors.New("terraform_apply: terraform is not set")
	}
	if v.Type() == cty.String {
		name = v.AsString()
		r.scMu.Lock()
		tv, ok := r.sc.Terraform[name]
		r.scMu.Unlock()
		if !ok {
			return "", "", fmt.Errorf("terraform_apply: there is no terraform block %q", name)
		}
		v = tv
	}
	if !v.Type().IsObjectType() || !v.Type().HasAttribute("dir") {
		return "", "", fmt.Errorf("terraform_apply: terraform is a %s; give terraform.NAME or the name of a terraform block", v.Type().FriendlyName())
	}
	d := v.GetAttr("dir")
	if !d.IsKnown() || d.IsNull() || d.Type() != cty.String {
		return "", "", errors.New("terraform_apply: the terraform block's dir is not known")
	}
	dir = d.AsString()
	if name == "" {
		for _, t := range r.cfg.Runbook.Terraforms {
			r.scMu.Lock()
			tv := r.sc.Terraform[t.Name]
			r.scMu.Unlock()
			if tv.IsWhollyKnown() && tv.GetAttr("dir").AsString() == dir {
				name = t.Name
			}
		}
	}
	return name, r.resolvePath(dir), nil
}

// terraformVars reads the vars argument (a map or object).
func terraformVars(args map[string]cty.Value) map[string]cty.Value {
	out := map[string]cty.Value{}
	v, ok := args["vars"]
	if !ok || v.IsNull() || !(v.Type().IsMapType() || v.Type().IsObjectType()) {
		return out
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		out[k.AsString()] = e
	}
	return out
}

// logWriter streams terraform's human output into the audit log, line by
// line, under the instance's address.
func (r *runner) logWriter(n *node) (io.Writer, func()) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			r.log.Printf("%s: terraform| %s", n.addr, sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	return pw, func() { pw.Close(); <-done }
}

func (r *runner) terraform(n *node) (*tfrun.Terraform, func(), error) {
	bin, err := tfrun.Find()
	if err != nil {
		return nil, nil, err
	}
	w, stop := r.logWriter(n)
	tf := &tfrun.Terraform{Binary: bin, Output: w}
	// Provisioners that run `nrun ...` (the blue/green sandbox fleet) get
	// the nrun that runs the runbook, as exec actions do.
	if dir := selfDir(); dir != "" {
		tf.Env = []string{"PATH=" + pathOf(execEnviron(os.Environ(), dir))}
	}
	return tf, stop, nil
}

// terraformApply applies the directory with vars; its outputs become
// step.NAME.output (an object of the output values) and
// terraform.NAME.outputs.
func (r *runner) terraformApply(ctx context.Context, n *node, args map[string]cty.Value) (string, string, error) {
	name, dir, err := r.terraformDir(args["terraform"])
	if err != nil {
		return "", "", err
	}
	tf, stop, err := r.terraform(n)
	if err != nil {
		return "", "", err
	}
	outs, err := tf.Apply(ctx, dir, terraformVars(args))
	stop()
	if err != nil {
		return "", "", err
	}
	r.setTerraformOutputs(n, name, dir, outs)
	return "terraform apply in " + filepath.Base(dir) + " done; outputs: " + outputNames(outs), "", nil
}

func outputNames(outs map[string]tfrun.Output) string {
	names := make([]string, 0, len(outs))
	for k := range outs {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// setTerraformOutputs publishes the outputs as step.NAME.output (for the
// same steps setOutput publishes) and as terraform.NAME.outputs.
func (r *runner) setTerraformOutputs(n *node, name, dir string, outs map[string]tfrun.Output) {
	vals := map[string]cty.Value{}
	for k, o := range outs {
		if o.Value == cty.NilVal {
			continue
		}
		if o.Sensitive {
			// The executor has no way yet to redact a value learnt
			// during the run, so a sensitive output is not published.
			continue
		}
		vals[k] = o.Value
	}
	obj := cty.ObjectVal(vals)
	r.scMu.Lock()
	defer r.scMu.Unlock()
	if name != "" {
		r.sc.SetTerraform(name, cty.ObjectVal(map[string]cty.Value{"dir": cty.StringVal(dir), "outputs": obj}))
	}
	if n.inst.Addr.Key.Valid && !n.step.Addr.Nested() {
		return
	}
	key := n.step.Name
	if n.step.Outer != nil {
		key = n.step.Outer.Name + ".step." + n.step.Name
	}
	r.sc.SetStep(key, cty.ObjectVal(map[string]cty.Value{"output": obj}))
	n.outputSet = true
}

// probeTerraform: an apply whose plan shows no change is in place (its
// outputs are read back for later steps); otherwise it is applied again,
// which Terraform makes safe.
func (r *runner) probeTerraform(ctx context.Context, n *node, args map[string]cty.Value) (probeOutcome, string) {
	name, dir, err := r.terraformDir(args["terraform"])
	if err != nil {
		return probeUnknown, err.Error()
	}
	tf, stop, err := r.terraform(n)
	if err != nil {
		return probeUnknown, err.Error()
	}
	defer stop()
	p, err := tf.Plan(ctx, dir, terraformVars(args))
	if err != nil {
		return probeUnknown, err.Error()
	}
	if !p.NoChanges() {
		return probeRedo, "terraform plan shows changes (" + p.String() + "): the apply did not finish"
	}
	outs, err := tf.Outputs(ctx, dir)
	if err != nil {
		return probeUnknown, err.Error()
	}
	r.setTerraformOutputs(n, name, dir, outs)
	return probeDone, "terraform plan shows no changes: the apply is in place"
}
