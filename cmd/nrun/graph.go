package main

import (
	"fmt"
	"io"

	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "graph", Synopsis: "Print a runbook's step graph in Graphviz DOT", Run: runGraph})
}

const graphHelp = `Usage: nrun graph [options] [PATH]

  Validates one runbook like nrun validate, then prints its step graph in
  Graphviz DOT on stdout: one node per step, one cluster per composite
  step, one edge per dependency. The output depends only on the runbook,
  so it can be kept in version control and diffed. Render it with, for
  example, nrun graph runbooks/x.nrun.hcl | dot -Tsvg > graph.svg.

  PATH is a .nrun.hcl file or a one-runbook directory (default: the
  current directory). Diagnostics, warnings included, go to stderr.

Options:

  -no-color          Disable colour in diagnostics.
  -var 'NAME=VALUE'  Set an input variable. Repeatable.
  -var-file FILE     Read input variables from an HCL file. Repeatable.
                     NRUN_VAR_NAME=VALUE in the environment sets one
                     too, below -var-file and -var.

  A runbook with errors still gets the graph as far as it could be built,
  so a dependency cycle can be seen: the edge that closes it is drawn in
  red. The exit code says whether the runbook is valid.

Exit codes:
  0  the runbook is valid and its graph was printed
  1  the runbook has errors (the graph is printed if the files could be
     loaded), or bad usage
`

// graphArgs are the parsed flags of `nrun graph`.
type graphArgs struct {
	NoColor  bool
	Vars     []string
	VarFiles []string
	Path     string
}

func parseGraphArgs(args []string) (graphArgs, error) {
	var a graphArgs
	fs := newFlagSet("graph")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	fs.Var((*varFlag)(&a.Vars), "var", "")
	fs.Var((*repeated)(&a.VarFiles), "var-file", "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	var err error
	if a.Path, err = runbookPath(fs, "graph"); err != nil {
		return a, err
	}
	return a, nil
}

func runGraph(s *streams, args []string) int {
	a, err := parseGraphArgs(args)
	if err != nil {
		return usageError(s, "graph", graphHelp, err)
	}
	if paths := runbookPaths([]string{a.Path}); len(paths) != 1 {
		fmt.Fprintf(s.Stderr, "nrun graph: %s holds %d runbooks; name one of them, for example %s\n", a.Path, len(paths), paths[0])
		return exitUsage
	}
	c := checkRunbook(s, a.Path, a.Vars, a.VarFiles)
	views.Diagnostics(s.Stderr, c.Diags, c.Files, views.DiagnosticsOptions{Color: diagColor(s, a.NoColor), Width: views.DiagnosticWidth})
	if c.Runbook != nil && c.Graph != nil {
		io.WriteString(s.Stdout, c.Graph.DOT())
	}
	if c.Diags.HasErrors() {
		return exitError
	}
	return exitOK
}
