package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/rogpeppe/go-internal/diff"

	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "fmt", Synopsis: "Rewrite runbook files in the canonical format", Run: runFmt})
}

const fmtHelp = `Usage: nrun fmt [options] [PATH...]

  Rewrites runbook files (.nrun.hcl) and variable files (.nrunvars.hcl) in
  the canonical HCL layout, as terraform fmt does. A directory PATH means
  the matching files directly in it (or below it, with -recursive); a file
  PATH is formatted whatever its name. PATH defaults to the current
  directory; "-" reads stdin and writes the result to stdout.

  A file that does not parse is never rewritten: its diagnostics go to
  stderr, the other files are still processed, and the exit code is 1.

Options:

  -check       Only check: write nothing, list the files that need
               formatting, and exit 3 if there are any.
  -diff        Print a unified diff of each change on stdout.
  -list=true   Print the name of each file that changes (default true).
  -write=true  Write the result back to the file (default true; false
               with -check).
  -recursive   Also process subdirectories (hidden ones are skipped).
  -no-color    Disable colour in diagnostics.

Exit codes:
  0  all files are formatted (or were rewritten)
  1  a file does not parse or cannot be read or written, or bad usage
  3  with -check: some files need formatting
`

// exitFmtCheck is `nrun fmt -check`'s verdict "files need formatting",
// the same code terraform fmt -check uses, so CI scripts can tell it apart
// from a broken file (1).
const exitFmtCheck = 3

// fmtArgs are the parsed flags of `nrun fmt`.
type fmtArgs struct {
	Check     bool
	Diff      bool
	List      bool
	Write     bool
	Recursive bool
	NoColor   bool
	Paths     []string // at least one; "." when none was given
}

func parseFmtArgs(args []string) (fmtArgs, error) {
	a := fmtArgs{List: true, Write: true}
	fs := newFlagSet("fmt")
	fs.BoolVar(&a.Check, "check", false, "")
	fs.BoolVar(&a.Diff, "diff", false, "")
	fs.BoolVar(&a.List, "list", true, "")
	fs.BoolVar(&a.Write, "write", true, "")
	fs.BoolVar(&a.Recursive, "recursive", false, "")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if a.Check {
		a.Write = false
	}
	a.Paths = fs.Args()
	if len(a.Paths) == 0 {
		a.Paths = []string{"."}
	}
	for _, p := range a.Paths {
		if p == "-" && len(a.Paths) > 1 {
			return a, fmt.Errorf(`"-" (stdin) cannot be combined with other paths`)
		}
	}
	return a, nil
}

// fmtSuffixes are the file names a directory walk picks up.
var fmtSuffixes = []string{".nrun.hcl", ".nrunvars.hcl"}

func isFmtFile(name string) bool {
	for _, s := range fmtSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// fmtFiles expands a PATH argument into the files to format, sorted.
func fmtFiles(path string, recursive bool) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == path {
				return nil
			}
			if !recursive || strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if isFmtFile(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// formatSource returns the canonical form of src, or the syntax errors
// that make it unsafe to rewrite: hclwrite.Format re-indents tokens without
// checking them, and would happily reshape a half-typed file.
// The parsed file is returned for the diagnostics' source snippets.
func formatSource(name string, src []byte) ([]byte, map[string]*hcl.File, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	files := map[string]*hcl.File{name: {Bytes: src}}
	if f != nil {
		files[name] = f
	}
	if diags.HasErrors() {
		return nil, files, diags
	}
	return hclwrite.Format(src), files, nil
}

func runFmt(s *streams, args []string) int {
	a, err := parseFmtArgs(args)
	if err != nil {
		return usageError(s, "fmt", fmtHelp, err)
	}
	diagOpts := views.DiagnosticsOptions{Color: diagColor(s, a.NoColor), Width: views.DiagnosticWidth}

	if a.Paths[0] == "-" {
		return fmtStdin(s, a, diagOpts)
	}

	failed, unformatted := false, false
	for _, p := range a.Paths {
		files, err := fmtFiles(p, a.Recursive)
		if err != nil {
			fmt.Fprintf(s.Stderr, "nrun fmt: %v\n", err)
			failed = true
		}
		for _, name := range files {
			src, err := os.ReadFile(name)
			if err != nil {
				fmt.Fprintf(s.Stderr, "nrun fmt: %v\n", err)
				failed = true
				continue
			}
			out, files, diags := formatSource(name, src)
			if diags.HasErrors() {
				views.Diagnostics(s.Stderr, diags, files, diagOpts)
				fmt.Fprintf(s.Stderr, "nrun fmt: %s was not formatted because it does not parse.\n", name)
				failed = true
				continue
			}
			if bytes.Equal(src, out) {
				continue
			}
			unformatted = true
			if a.List {
				fmt.Fprintln(s.Stdout, name)
			}
			if a.Write {
				// WriteFile keeps the mode of an existing file.
				if err := os.WriteFile(name, out, 0o644); err != nil {
					fmt.Fprintf(s.Stderr, "nrun fmt: %v\n", err)
					failed = true
					continue
				}
			}
			if a.Diff {
				s.Stdout.Write(diff.Diff("old/"+filepath.ToSlash(name), src, "new/"+filepath.ToSlash(name), out))
			}
		}
	}
	switch {
	case failed:
		return exitError
	case a.Check && unformatted:
		return exitFmtCheck
	}
	return exitOK
}

// fmtStdin formats stdin to stdout. Nothing is listed or written; -check
// prints nothing and only sets the exit code; -diff prints the diff
// instead of the result.
func fmtStdin(s *streams, a fmtArgs, diagOpts views.DiagnosticsOptions) int {
	const name = "<stdin>"
	src, err := io.ReadAll(s.Stdin)
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun fmt: reading stdin: %v\n", err)
		return exitError
	}
	out, files, diags := formatSource(name, src)
	if diags.HasErrors() {
		views.Diagnostics(s.Stderr, diags, files, diagOpts)
		return exitError
	}
	switch {
	case a.Diff:
		s.Stdout.Write(diff.Diff("old/"+name, src, "new/"+name, out))
	case !a.Check:
		s.Stdout.Write(out)
	}
	if a.Check && !bytes.Equal(src, out) {
		return exitFmtCheck
	}
	return exitOK
}
