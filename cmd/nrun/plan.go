package main

import (
	"context"
	"fmt"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/operation"
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

  -backend=KIND      The backend apply would use (local, consul, nomad;
                     default: the runbook's backend block, else local).
                     The plan names it on stderr and warns when it is in
                     the cluster the runbook changes. Nothing is locked.
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
	Backend          string
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
	fs.StringVar(&a.Backend, "backend", "", "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	var err error
	if a.Path, err = runbookPath(fs, "plan"); err != nil {
		return a, err
	}
	if a.JSON && a.Markdown {
		return a, fmt.Errorf("-json and -markdown cannot be combined")
	}
	return a, nil
}

func runPlan(s *streams, args []string) int {
	a, err := parsePlanArgs(args)
	if err != nil {
		return usageError(s, "plan", planHelp, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	res := operation.Plan(ctx, operation.PlanRequest{
		Path:      a.Path,
		Inputs:    operation.Inputs{Vars: a.Vars, VarFiles: a.VarFiles, Environ: environ(s)},
		Inventory: a.Inventory,
		Out:       a.Out,
		Getenv:    s.Getenv,
		Backend:   operation.BackendChoice{Kind: a.Backend},
	})
	if res.Backend != "" && !a.JSON && res.Plan != nil {
		fmt.Fprintf(s.Stderr, "Backend: %s\n", res.Backend)
		if res.BackendWarning != "" {
			fmt.Fprintf(s.Stderr, "Warning: The backend is in the cluster this runbook changes\n  %s\n", res.BackendWarning)
		}
	}
	rb, p, diags := res.Runbook, res.Plan, res.Diags
	files := varValueFiles(a.Vars)
	if rb != nil {
		for name, f := range rb.Files {
			files[name] = f
		}
	}
	files = withSources(files, diags)

	if p == nil {
		if a.JSON {
			st := &views.Stream{W: s.Stdout}
			st.Write(views.VersionMessage(Version, time.Now()))
			st.Write(views.DiagnosticMessages(diags, files, time.Now())...)
			return exitError
		}
		views.Diagnostics(s.Stderr, diags, files, views.DiagnosticsOptions{Color: diagColor(s, a.NoColor), Width: views.DiagnosticWidth})
		if a.Markdown {
			// CI posts stdout as the comment: say why there is no plan,
			// under the marker of this runbook's plan comment.
			if err := views.PlanMarkdownFailed(s.Stdout, planTitle(rb, a.Path), diags, files); err != nil {
				fmt.Fprintf(s.Stderr, "nrun plan: %v\n", err)
			}
		}
		return exitError
	}

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
		st.Write(views.DiagnosticMessages(diags, files, time.Now())...)
		st.Write(ms...)
		return planExitCode(a, p)
	}
	apply, note := applyCommand(rb, a)
	var v views.PlanView = views.PlanHuman{Color: stdoutColor(s, a.NoColor), Apply: apply, ApplyNote: note}
	if a.Markdown {
		v = views.PlanMarkdown{Apply: apply, ApplyNote: note}
	}
	if err := v.Plan(s.Stdout, p); err != nil {
		fmt.Fprintf(s.Stderr, "nrun plan: %v\n", err)
		return exitError
	}
	return planExitCode(a, p)
}

// planExitCode is plan's exit code for a plan made: 0, or with
// -detailed-exitcode 2 when the plan has step instances.
func planExitCode(a planArgs, p *planner.Plan) int {
	if a.DetailedExitcode && p.Summary.Instances > 0 {
		return exitChanges
	}
	return exitOK
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
