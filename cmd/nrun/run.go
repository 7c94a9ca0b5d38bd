package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"golang.org/x/term"
)

// Exit codes shared by every command. Commands document the ones they use
// in their -help text.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 1
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
	if len(args) == 0 || args[0] == "-help" || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(s.Stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "-version" || args[0] == "--version" {
		args[0] = "version"
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(s.Stderr, "nrun: unknown command %q\n\n", args[0])
		usage(s.Stderr)
		return exitUsage
	}
	return c.Run(s, args[1:])
}

func usage(w io.Writer) {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Usage: nrun <command> [options] [args]\n\n")
	b.WriteString("nrun compiles HCL runbooks for Nomad and Consul into a DAG, proves it safe,\nplans it against the live cluster and applies it with checkpoints.\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "    %-12s %s\n", n, commands[n].Synopsis)
	}
	b.WriteString("\nRun `nrun <command> -help` for a command's options and exit codes.\n")
	io.WriteString(w, b.String())
}
