package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planfile"
	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "plan", Synopsis: "Show what a runbook would do to the cluster now", Run: runPlan})
}

const planHelp = `Usage: nrun plan [options] PATH

  Resolves a runbook against the cluster as it is now and shows what it
  would do: every step instance with its target, its resolved arguments,
  its preconditions evaluated against the cluster now (ok, would block
  now, or known only at apply), its waits, the execution order in waves,
  the safety analysis with the live server counts, and any waived rules.
  Under each terraform_apply whose directory and vars are known now it
  shows Terraform's own plan: terraform init and terraform plan run in
  that directory (not with -inventory). For each nomad_job_run the Nomad
  servers plan the job (as 'nomad plan' does) and the plan shows its diff;
  apply then registers the job only if it has not changed since (its
  JobModifyIndex is recorded). Nothing is changed.

  The cluster is read once (one discovery per data source) from the
  runbook's nomad {} and consul {} blocks, else NOMAD_ADDR, NOMAD_TOKEN,
  NOMAD_REGION, NOMAD_NAMESPACE, CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, or
  from an inventory file written by 'nrun inventory' (-inventory).

  PATH is a .nrun.hcl file or a directory holding one runbook; it
  defaults to the current directory.

  The plan ends with the command that applies it, with the -var and
  -var-file options given (quoted for the shell). A sensitive value is
  never printed: it shows as -var NAME=..., to be given again.

Options:

  -out FILE          Save the plan to FILE for 'nrun apply FILE', which
                     refuses it if the runbook or the cluster has changed
                     since. The file (mode 0600) is nrun's own format: a
                     header with a format version and a SHA-256 of the
                     plan, so apply refuses an empty, truncated or damaged
                     file. It replaces FILE whole: an interrupted plan
                     leaves the previous FILE as it was. Sensitive
                     variables are recorded only as a hash; apply needs
                     them again.
  -json              Print the machine-readable stream instead of text
                     (docs/json-stream.md): a version message, any
                     diagnostics (errors included, on stdout), the plan
                     document (format_version "1", docs/plan-json.md) and
                     a change_summary. 'nrun show -json PLANFILE' prints
                     the document of a saved plan alone.
  -markdown          Print the plan as Markdown for a pull request comment.
                     Its first line is a marker, <!-- nrun-plan: NAME -->
                     (NAME: the runbook block's name, else its files), by
                     which a CI job can find and update its comment. It
                     says whether the plan was made from the live cluster
                     or an inventory file, and when that was read, and
                     lists the variables (sensitive ones as (sensitive)).
                     With errors it prints a Markdown document with the
                     diagnostics in a fenced block (and them on stderr)
                     and exits 1.
  -no-color          Disable colour. Colour is also off when stdout is not
                     a terminal or NO_COLOR is set.
  -var 'NAME=VALUE'  Set an input variable. Repeatable.
  -var-file FILE     Read input variables from an HCL file. Repeatable.
                     NRUN_VAR_NAME=VALUE in the environment sets one
                     too, below -var-file and -var.
  -inventory FILE    Plan against a cluster view saved by 'nrun inventory'
                     instead of the live cluster (without job diffs).
  -detailed-exitcode Exit 2 instead of 0 when the plan has step instances
                     (as terraform plan -detailed-exitcode).

Exit codes (like terraform plan):
  0  success, with or without step instances to run
  1  error: the runbook is invalid, unsafe against this cluster, or the
     cluster could not be read; or bad usage
  2  with -detailed-exitcode only: success, the plan has step instances
     to run (0 then means there is nothing to do)
`

// exitChanges is plan's exit code for a plan with step instances under
// -detailed-exitcode. Only there: a plan that succeeds exits 0 by default
// so that 'nrun plan -out p && nrun apply p', set -e and go run work.
const exitChanges = 2

// planArgs are the parsed flags of `nrun plan`.
type planArgs struct {
	Out       string
	JSON      bool
	Markdown  bool
	NoColor   bool
	Vars      []string
	VarFiles  []string
	Inventory string
	// DetailedExitcode asks for exit 2 on a plan with step instances.
	DetailedExitcode bool
	Path             string
}

func parsePlanArgs(args []string) (planArgs, error) {
	var a planArgs
	fs := newFlagSet("plan")
	fs.StringVar(&a.Out, "out", "", "")
	fs.BoolVar(&a.JSON, "json", false, "")
	fs.BoolVar(&a.Markdown, "markdown", false, "")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	fs.Var((*varFlag)(&a.Vars), "var", "")
	fs.Var((*repeated)(&a.VarFiles), "var-file", "")
	fs.StringVar(&a.Inventory, "inventory", "", "")
	fs.BoolVar(&a.DetailedExitcode, "detailed-exitcode", false, "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	switch fs.NArg() {
	case 0:
		a.Path = "."
	case 1:
		a.Path = fs.Arg(0)
	default:
		return a, fmt.Errorf("plan takes one runbook PATH, got %d", fs.NArg())
	}
	if a.JSON && a.Markdown {
		return a, fmt.Errorf("-json and -markdown cannot be combined")
	}
	return a, nil
}

// readInventory reads a cluster.View saved by `nrun inventory`.
func readInventory(path string) (*cluster.View, hcl.Diagnostics) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read inventory file", Detail: fmt.Sprintf("%v. Check the -inventory path, or capture one with nrun inventory -out %s.", err, path)}}
	}
	var v cluster.View
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid inventory file", Detail: fmt.Sprintf("%s is not a cluster view as nrun inventory writes it: %v. Capture it again with nrun inventory -out %s.", path, err, path)}}
	}
	// Decoding accepts null servers, duplicate names and several leaders,
	// which would plan nonsense; nrun inventory never writes them.
	var diags hcl.Diagnostics
	for _, err := range (&v).Validate() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid inventory file", Detail: fmt.Sprintf("In %s, %v. nrun inventory never writes this, so the file was edited or damaged: capture it again with nrun inventory -out %s, or correct that entry.", path, err, path)})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return &v, nil
}

func runPlan(s *streams, args []string) int {
	a, err := parsePlanArgs(args)
	if err != nil {
		return usageError(s, "plan", planHelp, err)
	}
	dopts := views.DiagnosticsOptions{Color: diagColor(s, a.NoColor), Width: views.DiagnosticWidth}

	rb, diags := lang.Load(a.Path)
	var inputs map[string]cty.Value
	if rb != nil {
		var d hcl.Diagnostics
		inputs, d = inputValues(s, rb, a.Vars, a.VarFiles)
		diags = append(diags, d...)
	}
	fail := func(diags hcl.Diagnostics) int {
		files := varValueFiles(a.Vars)
		if rb != nil {
			for name, f := range rb.Files {
				files[name] = f
			}
		}
		files = withSources(files, diags)
		if a.JSON {
			st := &views.Stream{W: s.Stdout}
			st.Write(views.VersionMessage(Version, time.Now()))
			st.Write(views.DiagnosticMessages(diags, files, time.Now())...)
			return exitError
		}
		views.Diagnostics(s.Stderr, diags, files, dopts)
		if a.Markdown {
			// CI posts stdout as the comment: say why there is no plan,
			// under the marker of this runbook's plan comment.
			if err := views.PlanMarkdownFailed(s.Stdout, planTitle(rb, a.Path), diags, files); err != nil {
				fmt.Fprintf(s.Stderr, "nrun plan: %v\n", err)
			}
		}
		return exitError
	}
	if rb == nil || diags.HasErrors() {
		return fail(diags)
	}

	var view *cluster.View
	var vd hcl.Diagnostics
	switch {
	case a.Inventory != "":
		view, vd = readInventory(a.Inventory)
	case !planner.NeedsCluster(rb):
		// Apply reads none for this runbook either (same rule), so a
		// saved plan carries no fingerprint that apply would compare.
	default:
		ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		view, vd = planner.LiveView(ctx, rb, inputs, s.Getenv)
		cancel()
		stop()
	}
	diags = append(diags, vd...)
	if vd.HasErrors() {
		return fail(diags)
	}

	// Only a saved plan needs the salted hashes that let apply check its
	// inputs; without -out the plan stays a pure function of its inputs, so
	// -markdown (and the plan document in -json) give the same bytes on
	// every run.
	ropts := planner.ResolveOptions{Inventory: a.Inventory}
	if a.Out != "" {
		ropts.Salt = planner.NewSalt()
	}
	p, d := planner.Resolve(rb, inputs, view, ropts)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return fail(diags)
	}
	diags = append(diags, previewTerraform(rb, inputs, p, view, a.Path, a.Inventory != "")...)
	if pd := previewJobs(s, rb, inputs, p, a.Path, a.Inventory != ""); pd.HasErrors() {
		return fail(append(diags, pd...))
	}

	if a.Out != "" {
		if err := planfile.Write(a.Out, p); err != nil {
			return fail(append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot save the plan", Detail: fmt.Sprintf("%v. Check that the -out directory exists and is writable.", err)}))
		}
	}
	apply, note := applyCommand(rb, a)

	if a.JSON {
		// The stream: the version, any warnings, the plan document and
		// the change summary (docs/json-stream.md). `nrun show -json
		// PLANFILE` prints the document alone.
		ms, err := views.PlanMessages(p, time.Now())
		if err != nil {
			fmt.Fprintf(s.Stderr, "nrun plan: %v\n", err)
			return exitError
		}
		st := &views.Stream{W: s.Stdout}
		st.Write(views.VersionMessage(Version, time.Now()))
		st.Write(views.DiagnosticMessages(diags, withSources(rb.Files, diags), time.Now())...)
		st.Write(ms...)
		if a.DetailedExitcode && p.Summary.Instances > 0 {
			return exitChanges
		}
		return exitOK
	}
	var v views.PlanView
	switch {
	case a.Markdown:
		v = views.PlanMarkdown{Apply: apply, ApplyNote: note}
	default:
		v = views.PlanHuman{Color: stdoutColor(s, a.NoColor), Apply: apply, ApplyNote: note}
	}
	if err := v.Plan(s.Stdout, p); err != nil {
		fmt.Fprintf(s.Stderr, "nrun plan: %v\n", err)
		return exitError
	}
	if a.DetailedExitcode && p.Summary.Instances > 0 {
		return exitChanges
	}
	return exitOK
}

// previewTerraform adds the Terraform plan summary of every terraform_apply
// instance to p (planner.PreviewTerraform): terraform init and plan run in
// each directory known now, nothing is applied. An offline plan
// (-inventory) runs no terraform and says so. Its diagnostics are warnings
// only, and are also recorded in p.
func previewTerraform(rb *lang.Runbook, inputs map[string]cty.Value, p *planner.Plan, view *cluster.View, path string, offline bool) hcl.Diagnostics {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return planner.PreviewTerraform(ctx, rb, inputs, p, planner.PreviewOptions{BaseDir: runbookBaseDir(path), View: view, Offline: offline})
}

// runbookBaseDir is the directory relative paths of a runbook at path
// (a file or a directory) are resolved against, as apply resolves them.
func runbookBaseDir(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return filepath.Dir(abs)
	}
	return abs
}

// planTitle is the name the Markdown of a plan of rb goes by
// (views.PlanTitle), also when the plan failed, so both update the same
// pull request comment. Without a runbook (it did not load) it is path.
func planTitle(rb *lang.Runbook, path string) string {
	if rb == nil {
		return path
	}
	if rb.Meta != nil && rb.Meta.Name != "" {
		return rb.Meta.Name
	}
	var names []string
	for name := range rb.Files {
		names = append(names, name)
	}
	if len(names) == 0 {
		return path
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// applyCommand is what the "To apply" hint puts after 'nrun apply', with
// a note when it hides a value. A plan made without -out is applied from
// the runbook with the same -var and -var-file options. A saved plan
// keeps the clear values itself but only a hash of the sensitive ones,
// so apply is given the -var-file options and the sensitive -var ones
// again. A sensitive value is never printed: it shows as NAME=..., and
// the note says so.
func applyCommand(rb *lang.Runbook, a planArgs) (args, note string) {
	var parts, hidden []string
	for _, kv := range a.Vars {
		name, _, _ := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		v := rb.Variable(name)
		switch {
		case v != nil && v.Sensitive:
			parts = append(parts, "-var "+shellQuote(name+"=..."))
			hidden = append(hidden, name)
		case a.Out == "":
			parts = append(parts, "-var "+shellQuote(kv))
		}
	}
	for _, f := range a.VarFiles {
		parts = append(parts, "-var-file "+shellQuote(f))
	}
	target := a.Path
	if a.Out != "" {
		target = a.Out
	}
	parts = append(parts, shellQuote(target))
	return strings.Join(parts, " "), sensitiveNote(hidden)
}

// sensitiveNote explains the NAME=... of the sensitive variables named in
// an apply hint; "" when there are none.
func sensitiveNote(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("(%s: sensitive, not shown; give its value again in place of ...)", names[0])
	}
	return fmt.Sprintf("(%s: sensitive, not shown; give their values again in place of ...)", strings.Join(names, ", "))
}
