package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/term"

	"github.com/nrun-dev/nrun/lang"
)

// Exit codes shared by every command. Commands document the ones they use
// in their -help text.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 1
	// exitPaused: apply stopped to wait for the operator (an approval,
	// an in-doubt action, on_failure = "pause").
	exitPaused = 3
	// exitInterrupted: apply stopped on Ctrl-C (128 + SIGINT).
	exitInterrupted = 130
)

// streams is everything a command may touch of its process, so commands can
// run in-process under testscript.
type streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// StdoutTTY is true when Stdout is a terminal (colour, prompts).
	StdoutTTY bool
	// StderrTTY is true when Stderr is a terminal (colour in diagnostics,
	// which commands print on Stderr).
	StderrTTY bool
	// StdinTTY is true when Stdin is a terminal (interactive approval).
	StdinTTY bool
	Getenv   func(string) string
	// Environ lists the environment as os.Environ does, for NRUN_VAR_*
	// input variables; nil means an empty environment.
	Environ func() []string
}

func newStreams() *streams {
	return &streams{
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		StdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		Getenv:    os.Getenv,
		Environ:   os.Environ,
	}
}

func init() {
	// nrun is a short-lived process whose heap is mostly HCL's token and
	// syntax trees: collecting four times less often cuts validate's CPU
	// by about a quarter on large runbooks (planner BenchmarkValidate with
	// GOGC=400). An explicit GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// command is one `nrun NAME` subcommand. Each lives in its own file and
// registers itself from init.
type command struct {
	Name     string
	Synopsis string
	Run      func(s *streams, args []string) int
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.Name]; dup {
		panic("duplicate command " + c.Name)
	}
	commands[c.Name] = c
}

func run(args []string, s *streams) int {
	// Global options come before the command, as in terraform.
	for len(args) > 0 && (args[0] == "-chdir" || strings.HasPrefix(args[0], "-chdir=")) {
		dir, ok := strings.CutPrefix(args[0], "-chdir=")
		if !ok {
			if len(args) < 2 {
				fmt.Fprint(s.Stderr, "nrun: -chdir needs a directory: nrun -chdir=DIR <command>\n")
				return exitUsage
			}
			dir, args = args[1], args[1:]
		}
		args = args[1:]
		// Before anything else, so every relative path (runbook,
		// -var-file, -out, the state directory) is taken from DIR.
		if err := os.Chdir(dir); err != nil {
			fmt.Fprintf(s.Stderr, "nrun: -chdir: %v\n", err)
			return exitError
		}
	}
	if len(args) == 0 {
		usage(s.Stderr)
		return exitUsage
	}
	switch args[0] {
	case "-help", "-h", "--help":
		usage(s.Stdout)
		return exitOK
	case "help":
		if len(args) == 1 {
			usage(s.Stdout)
			return exitOK
		}
		// help CMD is CMD -help.
		args = []string{args[1], "-help"}
	case "-version", "--version":
		args[0] = "version"
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(s.Stderr, "nrun: unknown command %q.%s\n\n", args[0], didYouMean(args[0]))
		usage(s.Stderr)
		return exitUsage
	}
	return c.Run(s, args[1:])
}

// didYouMean suggests the command closest to a mistyped name, when one is
// close enough to be what was meant; "" otherwise.
func didYouMean(name string) string {
	best, bestDist := "", 3
	for _, n := range commandNames() {
		if d := levenshtein.Distance(name, n, nil); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// inputValues reads the input variables of rb from the environment
// (NRUN_VAR_name), then -var-file, then -var, as lang.InputValuesEnv.
func inputValues(s *streams, rb *lang.Runbook, vars, varFiles []string) (map[string]cty.Value, hcl.Diagnostics) {
	return lang.InputValuesEnv(rb, environ(s), vars, varFiles)
}

func environ(s *streams) []string {
	if s == nil || s.Environ == nil {
		return nil
	}
	return s.Environ()
}

func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	names := commandNames()
	var b strings.Builder
	b.WriteString("Usage: nrun [-chdir=DIR] <command> [options] [args]\n\n")
	b.WriteString("nrun compiles HCL runbooks for Nomad and Consul into a DAG, proves it safe,\nplans it against the live cluster and applies it with checkpoints.\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "    %-12s %s\n", n, commands[n].Synopsis)
	}
	b.WriteString("\nGlobal options (before the command):\n    -chdir=DIR   Switch to DIR before doing anything else.\n")
	b.WriteString("\nRun `nrun <command> -help` (or `nrun help <command>`) for a command's\noptions and exit codes.\n")
	io.WriteString(w, b.String())
}
