package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseValidateArgs(t *testing.T) {
	tests := map[string]struct {
		args    []string
		want    validateArgs
		wantErr string
	}{
		"defaults": {
			args: nil,
			want: validateArgs{Paths: []string{"."}},
		},
		"everything": {
			args: []string{"-json", "-no-color", "-var", "a=1", "-var=b=x=y", "-var-file", "f1.hcl", "-var-file=f2.hcl", "rb", "rb2"},
			want: validateArgs{JSON: true, NoColor: true, Vars: []string{"a=1", "b=x=y"}, VarFiles: []string{"f1.hcl", "f2.hcl"}, Paths: []string{"rb", "rb2"}},
		},
		"empty value is a value": {
			args: []string{"-var", "a=", "rb"},
			want: validateArgs{Vars: []string{"a="}, Paths: []string{"rb"}},
		},
		"var without equals": {
			args:    []string{"-var", "a", "rb"},
			wantErr: `invalid value "a" for flag -var: "a" is not NAME=VALUE`,
		},
		"var without name": {
			args:    []string{"-var", "=1"},
			wantErr: `is not NAME=VALUE`,
		},
		"unknown flag": {
			args:    []string{"-jsn"},
			wantErr: "flag provided but not defined: -jsn",
		},
		"flag after path is a path": {
			// stdlib flag stops at the first non-flag, as in terraform.
			args: []string{"rb", "-json"},
			want: validateArgs{Paths: []string{"rb", "-json"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseValidateArgs(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseValidateArgsHelp(t *testing.T) {
	for _, arg := range []string{"-help", "-h", "--help"} {
		if _, err := parseValidateArgs([]string{arg}); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s: err = %v, want flag.ErrHelp", arg, err)
		}
	}
}

func TestDiagColor(t *testing.T) {
	tests := map[string]struct {
		tty     bool
		noColor bool
		env     string
		want    bool
	}{
		"terminal":          {tty: true, want: true},
		"not a terminal":    {tty: false, want: false},
		"-no-color":         {tty: true, noColor: true, want: false},
		"NO_COLOR set":      {tty: true, env: "1", want: false},
		"NO_COLOR set to 0": {tty: true, env: "0", want: false}, // any non-empty value counts
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := &streams{StderrTTY: tc.tty, StdoutTTY: tc.tty, Getenv: func(k string) string {
				if k == "NO_COLOR" {
					return tc.env
				}
				return ""
			}}
			if got := diagColor(s, tc.noColor); got != tc.want {
				t.Errorf("diagColor = %v, want %v", got, tc.want)
			}
			if got := stdoutColor(s, tc.noColor); got != tc.want {
				t.Errorf("stdoutColor = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunbookPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// one/: a runbook split over two files, one runbook block.
	write("one/a.nrun.hcl", "runbook \"one\" {}\n")
	write("one/b.nrun.hcl", "step \"x\" {}\n")
	// many/: a collection, two files each with a runbook block, plus a
	// broken file and a non-runbook file.
	m1 := write("many/a.nrun.hcl", "runbook \"a\" {}\n")
	m2 := write("many/b.nrun.hcl", "runbook \"b\" {}\n")
	m3 := write("many/c.nrun.hcl", "step {{{\n")
	write("many/vars.nrunvars.hcl", "runbook = 1\n")
	// none/: no runbook block at all is still one runbook.
	write("none/a.nrun.hcl", "step \"x\" {}\n")
	write("none/b.nrun.hcl", "step \"y\" {}\n")
	file := filepath.Join(dir, "many", "a.nrun.hcl")

	tests := map[string]struct {
		in   []string
		want []string
	}{
		"one-runbook directory": {[]string{filepath.Join(dir, "one")}, []string{filepath.Join(dir, "one")}},
		"collection":            {[]string{filepath.Join(dir, "many")}, []string{m1, m2, m3}},
		"no runbook blocks":     {[]string{filepath.Join(dir, "none")}, []string{filepath.Join(dir, "none")}},
		"file":                  {[]string{file}, []string{file}},
		"missing path":          {[]string{"does-not-exist"}, []string{"does-not-exist"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := runbookPaths(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Colour reaches the output only on a terminal without NO_COLOR or
// -no-color; the verdict follows the stream it is printed on.
func TestValidateColor(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.nrun.hcl")
	if err := os.WriteFile(bad, []byte("step \"a\" {\n  action \"sleep\" {\n    duraton = \"1s\"\n  }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args    []string
		tty     bool
		noColor string
		want    bool
	}{
		"terminal":   {tty: true, want: true},
		"-no-color":  {args: []string{"-no-color"}, tty: true},
		"NO_COLOR":   {tty: true, noColor: "1"},
		"redirected": {tty: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, stdout, stderr := testStreams("")
			s.StderrTTY, s.StdoutTTY = tc.tty, tc.tty
			s.Getenv = func(k string) string {
				if k == "NO_COLOR" {
					return tc.noColor
				}
				return ""
			}
			args := append(append([]string{"validate"}, tc.args...), bad)
			if code := run(args, s); code != exitError {
				t.Fatalf("exit %d, want 1", code)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing for an invalid runbook", stdout)
			}
			colored := strings.Contains(stderr.String(), "\x1b[")
			if colored != tc.want {
				t.Errorf("colour = %v, want %v:\n%q", colored, tc.want, stderr)
			}
			if !strings.Contains(stderr.String(), "Unsupported argument") || !strings.Contains(stderr.String(), "the runbook is invalid") {
				t.Errorf("stderr lacks the diagnostic or the verdict:\n%s", stderr)
			}
		})
	}
}
