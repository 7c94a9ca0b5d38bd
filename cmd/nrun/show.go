package main

import (
	"fmt"
	"strings"

	"github.com/nrun-dev/nrun/planfile"
	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "show", Synopsis: "Show a plan saved by 'nrun plan -out'", Run: runShow})
}

const showHelp = `Usage: nrun show [options] PLANFILE

  Prints a plan saved by 'nrun plan -out' as 'nrun plan' printed it: as
  text, as Markdown for a pull request comment (-markdown) or as the plan
  JSON of docs/plan-json.md (-json), like 'terraform show'. It reads only
  the file: no runbook, no cluster and no credentials are needed, so a CI
  job can plan once, keep the file and render it as often as it likes.

  The plan file is checked as apply checks it (format version, length,
  SHA-256); an empty, truncated, damaged or foreign file is refused.
  Whether the plan is still current is not checked here: 'nrun apply
  PLANFILE' does that against the runbook and the cluster.

Options:

  -json      Print the plan as JSON (format_version "1", docs/plan-json.md).
  -markdown  Print the plan as Markdown, as 'nrun plan -markdown' does.
  -no-color  Disable colour. Colour is also off when stdout is not a
             terminal or NO_COLOR is set.

Exit codes:
  0  the plan was printed
  1  the file cannot be read or is not a valid plan file, or bad usage
`

// showArgs are the parsed flags of `nrun show`.
type showArgs struct {
	JSON     bool
	Markdown bool
	NoColor  bool
	Path     string
}

func parseShowArgs(args []string) (showArgs, error) {
	var a showArgs
	fs := newFlagSet("show")
	fs.BoolVar(&a.JSON, "json", false, "")
	fs.BoolVar(&a.Markdown, "markdown", false, "")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if fs.NArg() != 1 {
		return a, fmt.Errorf("show takes one PLANFILE, got %d", fs.NArg())
	}
	a.Path = fs.Arg(0)
	if a.JSON && a.Markdown {
		return a, fmt.Errorf("-json and -markdown cannot be combined")
	}
	return a, nil
}

func runShow(s *streams, args []string) int {
	a, err := parseShowArgs(args)
	if err != nil {
		return usageError(s, "show", showHelp, err)
	}
	p, err := planfile.Read(a.Path)
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun show: %v\n", err)
		return exitError
	}
	apply, note := savedApplyCommand(p, a.Path)
	var v views.PlanView
	switch {
	case a.JSON:
		v = views.PlanJSON{}
	case a.Markdown:
		v = views.PlanMarkdown{Apply: apply, ApplyNote: note}
	default:
		v = views.PlanHuman{Color: stdoutColor(s, a.NoColor), Apply: apply, ApplyNote: note}
	}
	if err := v.Plan(s.Stdout, p); err != nil {
		fmt.Fprintf(s.Stderr, "nrun show: %v\n", err)
		return exitError
	}
	return exitOK
}

// savedApplyCommand is the "To apply" hint of a saved plan read back: the
// file, and a -var NAME=... for every sensitive variable, whose value the
// plan holds only as a hash. Which -var-file gave a value is not recorded,
// so the hint cannot repeat it.
func savedApplyCommand(p *planner.Plan, path string) (args, note string) {
	var parts, hidden []string
	for _, v := range p.Variables {
		if v.Sensitive {
			parts = append(parts, "-var "+shellQuote(v.Name+"=..."))
			hidden = append(hidden, v.Name)
		}
	}
	parts = append(parts, shellQuote(path))
	return strings.Join(parts, " "), sensitiveNote(hidden)
}
