package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "validate", Synopsis: "Check a runbook without touching a cluster", Run: runValidate})
}

const validateHelp = `Usage: nrun validate [options] [PATH...]

  Checks runbooks without contacting Nomad, Consul or Terraform: syntax,
  block and action schemas, references and types, the step graph (cycles)
  and the safety rules. Warnings do not make a runbook invalid.

  PATH is a .nrun.hcl file, or a directory holding one runbook split over
  its .nrun.hcl files (not recursive). A directory in which two or more
  files each declare their own runbook block, such as runbooks/, is a
  collection: every file in it is checked as a runbook of its own, each
  with every -var and -var-file given. PATH defaults to the current
  directory.

  Diagnostics are printed on stderr, the verdict on stdout.

Options:

  -json              Print one machine-readable object on stdout instead
                     (format_version "1.0", documented in views.JSONReport):
                     {"format_version","valid","error_count","warning_count",
                      "diagnostics":[{"severity","summary","detail","range",
                      "snippet"}]}. Sourceless problems have no range.
  -no-color          Disable colour. Colour is also off when stderr is not
                     a terminal or NO_COLOR is set.
  -var 'NAME=VALUE'  Set an input variable. Repeatable.
  -var-file FILE     Read input variables from an HCL file. Repeatable.
                     NRUN_VAR_NAME=VALUE in the environment sets one
                     too, below -var-file and -var.

Exit codes:
  0  the runbook is valid (warnings allowed)
  1  the runbook has errors, or bad usage
`

// validateArgs are the parsed flags of `nrun validate`.
type validateArgs struct {
	JSON     bool
	NoColor  bool
	Vars     []string // NAME=VALUE, in command-line order
	VarFiles []string
	Paths    []string // at least one; "." when none was given
}

// repeated is a flag.Value that collects every occurrence of a flag.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// varFlag is the -var value. It checks the NAME=VALUE shape while parsing
// so a mistake is reported as bad usage, before any file is read.
type varFlag []string

func (v *varFlag) String() string { return strings.Join(*v, ",") }
func (v *varFlag) Set(s string) error {
	name, _, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q is not NAME=VALUE", s)
	}
	*v = append(*v, s)
	return nil
}

// newFlagSet returns a flag set that prints nothing itself: commands print
// their own help and error, so tests can parse without capturing output.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// runbookPath is the one runbook PATH a command takes after its flags,
// "." when none is given.
func runbookPath(fs *flag.FlagSet, cmd string) (string, error) {
	switch fs.NArg() {
	case 0:
		return ".", nil
	case 1:
		return fs.Arg(0), nil
	}
	return "", fmt.Errorf("%s takes one runbook PATH, got %d", cmd, fs.NArg())
}

func parseValidateArgs(args []string) (validateArgs, error) {
	var a validateArgs
	fs := newFlagSet("validate")
	fs.BoolVar(&a.JSON, "json", false, "")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	fs.Var((*varFlag)(&a.Vars), "var", "")
	fs.Var((*repeated)(&a.VarFiles), "var-file", "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	a.Paths = fs.Args()
	if len(a.Paths) == 0 {
		a.Paths = []string{"."}
	}
	return a, nil
}

// usageError prints the help text after err and returns the exit code for
// a flag-parsing failure. -help itself is not an error: the help asked for
// goes to stdout (so it can be paged or grepped) with exit 0.
func usageError(s *streams, name, help string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(s.Stdout, help)
		return exitOK
	}
	fmt.Fprintf(s.Stderr, "nrun %s: %v\n\n%s", name, err, help)
	return exitUsage
}

// diagColor says whether diagnostics on stderr get colour: only on a
// terminal, and never when NO_COLOR is set (https://no-color.org) or
// -no-color was given.
func diagColor(s *streams, noColor bool) bool {
	return s.StderrTTY && !noColor && s.Getenv("NO_COLOR") == ""
}

// stdoutColor is diagColor for what a command prints on stdout.
func stdoutColor(s *streams, noColor bool) bool {
	return s.StdoutTTY && !noColor && s.Getenv("NO_COLOR") == ""
}

// checked is one runbook after the static checks.
type checked struct {
	Path    string
	Runbook *lang.Runbook  // nil when nothing could be loaded
	Graph   *planner.Graph // nil unless the runbook got as far as the planner
	Files   map[string]*hcl.File
	Diags   hcl.Diagnostics
}

// checkRunbook runs everything `nrun validate` checks on one runbook. Once
// the files are loaded every stage runs, even after an error in an earlier
// one (lang and planner are written to keep going on a partial runbook), so
// one run reports every problem. Only a runbook that could not be read at
// all stops here.
func checkRunbook(s *streams, path string, vars, varFiles []string) checked {
	c := checked{Path: path}
	rb, diags := lang.Load(path)
	c.Runbook = rb
	c.Diags = append(c.Diags, diags...)
	if rb != nil {
		var inputs map[string]cty.Value
		inputs, diags = inputValues(s, rb, vars, varFiles)
		c.Diags = append(c.Diags, diags...)
		c.Graph, diags = planner.Validate(rb, inputs)
		c.Diags = append(c.Diags, diags...)
	}
	c.Files = varValueFiles(vars)
	if rb != nil {
		for name, f := range rb.Files {
			c.Files[name] = f
		}
	}
	c.Files = withSources(c.Files, c.Diags)
	return c
}

// varValueFiles gives each -var value a source file under the name lang
// uses in the ranges of diagnostics about it, "<value for var.NAME>", whose
// bytes are the value itself. The diagnostic then shows the value the
// operator typed instead of "source code not available". A later -var for
// the same name wins, as it does in lang.InputValues.
func varValueFiles(vars []string) map[string]*hcl.File {
	out := map[string]*hcl.File{}
	for _, kv := range vars {
		name, raw, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		out[fmt.Sprintf("<value for var.%s>", strings.TrimSpace(name))] = &hcl.File{Bytes: []byte(raw)}
	}
	return out
}

// withSources adds the source of every file a diagnostic points at that is
// not in files already (a var file, or a runbook file when loading failed
// early), so every diagnostic can be printed with its snippet. Files that
// cannot be read are left out; the view then says the source is not
// available.
func withSources(files map[string]*hcl.File, diags hcl.Diagnostics) map[string]*hcl.File {
	out := make(map[string]*hcl.File, len(files))
	for name, f := range files {
		out[name] = f
	}
	for _, d := range diags {
		if d == nil || d.Subject == nil || d.Subject.Filename == "" {
			continue
		}
		name := d.Subject.Filename
		if _, ok := out[name]; ok {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			out[name] = nil
			continue
		}
		// Parse only to get a navigable file (the "in step ..." context
		// line); its own diagnostics are the loader's business.
		f, _ := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if f == nil {
			f = &hcl.File{}
		}
		f.Bytes = src
		out[name] = f
	}
	for name, f := range out {
		if f == nil {
			delete(out, name)
		}
	}
	return out
}

// stepCount counts step blocks, inner steps included.
func stepCount(rb *lang.Runbook) int {
	if rb == nil {
		return 0
	}
	n := 0
	for _, s := range rb.Steps {
		if s != nil {
			n += 1 + len(s.Steps)
		}
	}
	return n
}

// waiverCount counts the safety rules waived by allow_unsafe blocks, inner
// steps included: each rule named in a rules list is one waiver.
func waiverCount(rb *lang.Runbook) int {
	if rb == nil {
		return 0
	}
	n := 0
	var count func([]*lang.Step)
	count = func(steps []*lang.Step) {
		for _, s := range steps {
			if s == nil {
				continue
			}
			if s.AllowUnsafe != nil {
				n += len(s.AllowUnsafe.Rules)
			}
			count(s.Steps)
		}
	}
	count(rb.Steps)
	return n
}

// runbookPaths expands the command-line paths into runbooks. A file is one
// runbook and so is a directory, unless two or more of its .nrun.hcl files
// declare a runbook block of their own: such a directory cannot be one
// valid runbook (at most one runbook block is allowed), so it is read as a
// collection of single-file runbooks. This keeps `nrun validate runbooks/`
// meaningful without changing how a one-runbook directory is loaded.
func runbookPaths(paths []string) []string {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			out = append(out, p) // the loader reports a missing path
			continue
		}
		files := runbookFiles(p)
		declaring := 0
		for _, f := range files {
			if declaresRunbook(f) {
				declaring++
			}
		}
		if declaring >= 2 {
			out = append(out, files...)
		} else {
			out = append(out, p)
		}
	}
	return out
}

// runbookFiles lists the .nrun.hcl files directly in dir, sorted.
func runbookFiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".nrun.hcl") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files
}

// declaresRunbook reports whether the file has a top-level runbook block.
// A file that does not parse counts as not declaring one; the loader will
// report its syntax errors.
func declaresRunbook(path string) bool {
	src, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	f, _ := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if f == nil {
		return false
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return false
	}
	for _, b := range body.Blocks {
		if b.Type == "runbook" {
			return true
		}
	}
	return false
}

func runValidate(s *streams, args []string) int {
	a, err := parseValidateArgs(args)
	if err != nil {
		return usageError(s, "validate", validateHelp, err)
	}

	paths := runbookPaths(a.Paths)
	var results []checked
	for _, p := range paths {
		results = append(results, checkRunbook(s, p, a.Vars, a.VarFiles))
	}

	if a.JSON {
		var all hcl.Diagnostics
		files := map[string]*hcl.File{}
		for _, r := range results {
			all = append(all, r.Diags...)
			for n, f := range r.Files {
				files[n] = f
			}
		}
		if err := views.DiagnosticsJSON(s.Stdout, all, files); err != nil {
			fmt.Fprintf(s.Stderr, "nrun validate: %v\n", err)
			return exitError
		}
		if all.HasErrors() {
			return exitError
		}
		return exitOK
	}

	opts := views.DiagnosticsOptions{Color: diagColor(s, a.NoColor), Width: views.DiagnosticWidth}
	code := exitOK
	for _, r := range results {
		views.Diagnostics(s.Stderr, r.Diags, r.Files, opts)
		errs, warns := views.Count(r.Diags)
		if errs > 0 {
			code = exitError
		}
		sum := views.ValidateSummary{Steps: stepCount(r.Runbook), Errors: errs, Warnings: warns, Waivers: waiverCount(r.Runbook)}
		// The verdict of an invalid runbook joins its diagnostics on
		// stderr, so stdout carries only good news for scripts to read.
		out, color := s.Stdout, stdoutColor(s, a.NoColor)
		if errs > 0 {
			out, color = s.Stderr, diagColor(s, a.NoColor)
		}
		if len(results) > 1 {
			fmt.Fprintf(out, "%s: ", r.Path)
		}
		views.ValidateSummaryText(out, sum, color)
	}
	return code
}
