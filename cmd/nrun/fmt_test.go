package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseFmtArgs(t *testing.T) {
	tests := map[string]struct {
		args    []string
		want    fmtArgs
		wantErr string
	}{
		"defaults":                   {args: nil, want: fmtArgs{List: true, Write: true, Paths: []string{"."}}},
		"check disables write":       {args: []string{"-check", "a"}, want: fmtArgs{Check: true, List: true, Paths: []string{"a"}}},
		"check wins over write=true": {args: []string{"-write=true", "-check"}, want: fmtArgs{Check: true, List: true, Paths: []string{"."}}},
		"everything off":             {args: []string{"-list=false", "-write=false", "-diff", "-recursive", "-no-color", "a", "b"}, want: fmtArgs{Diff: true, Recursive: true, NoColor: true, Paths: []string{"a", "b"}}},
		"stdin":                      {args: []string{"-"}, want: fmtArgs{List: true, Write: true, Paths: []string{"-"}}},
		"stdin and a path":           {args: []string{"-", "a"}, wantErr: "cannot be combined"},
		"bad bool":                   {args: []string{"-write=maybe"}, wantErr: "invalid boolean value"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseFmtArgs(tc.args)
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

const (
	messySrc     = "step \"a\" {\naction \"sleep\" {\nduration=\"1s\"\n}\n}\n"
	formattedSrc = "step \"a\" {\n  action \"sleep\" {\n    duration = \"1s\"\n  }\n}\n"
	brokenSrc    = "step \"a\" {\n  action \"sleep\" {\n"
)

// fmtTree writes a small tree of runbook files and returns its root.
func fmtTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"messy.nrun.hcl":        messySrc,
		"clean.nrun.hcl":        formattedSrc,
		"vars.nrunvars.hcl":     "a=1\n",
		"notes.hcl":             messySrc, // not a runbook file: left alone
		"sub/deep.nrun.hcl":     messySrc,
		".hidden/skip.nrun.hcl": messySrc,
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFmt(t *testing.T) {
	tests := map[string]struct {
		args       []string // the tree's root is appended
		wantCode   int
		wantStdout []string // file names relative to the root, in order
		wantFiles  map[string]string
	}{
		"write": {
			wantCode:   0,
			wantStdout: []string{"messy.nrun.hcl", "vars.nrunvars.hcl"},
			wantFiles:  map[string]string{"messy.nrun.hcl": formattedSrc, "vars.nrunvars.hcl": "a = 1\n", "notes.hcl": messySrc, "sub/deep.nrun.hcl": messySrc},
		},
		"check": {
			args:       []string{"-check"},
			wantCode:   exitFmtCheck,
			wantStdout: []string{"messy.nrun.hcl", "vars.nrunvars.hcl"},
			wantFiles:  map[string]string{"messy.nrun.hcl": messySrc, "vars.nrunvars.hcl": "a=1\n"},
		},
		"recursive skips hidden directories": {
			args:       []string{"-recursive"},
			wantStdout: []string{"messy.nrun.hcl", "sub/deep.nrun.hcl", "vars.nrunvars.hcl"},
			wantFiles:  map[string]string{"sub/deep.nrun.hcl": formattedSrc, ".hidden/skip.nrun.hcl": messySrc},
		},
		"no list, no write": {
			args:      []string{"-list=false", "-write=false"},
			wantFiles: map[string]string{"messy.nrun.hcl": messySrc},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := fmtTree(t)
			s, stdout, stderr := testStreams("")
			code := run(append(append([]string{"fmt"}, tc.args...), dir), s)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			var want string
			for _, f := range tc.wantStdout {
				want += filepath.Join(dir, f) + "\n"
			}
			if stdout.String() != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
			}
			for f, src := range tc.wantFiles {
				if got := read(t, filepath.Join(dir, f)); got != src {
					t.Errorf("%s = %q, want %q", f, got, src)
				}
			}
		})
	}
}

// A file that does not parse is reported with its diagnostics and left
// untouched; the other files are still formatted.
func TestFmtRefusesBrokenFile(t *testing.T) {
	dir := fmtTree(t)
	broken := filepath.Join(dir, "broken.nrun.hcl")
	if err := os.WriteFile(broken, []byte(brokenSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _, stderr := testStreams("")
	if code := run([]string{"fmt", dir}, s); code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if got := read(t, broken); got != brokenSrc {
		t.Errorf("broken file was rewritten to %q", got)
	}
	if got := read(t, filepath.Join(dir, "messy.nrun.hcl")); got != formattedSrc {
		t.Errorf("the other file was not formatted: %q", got)
	}
	for _, want := range []string{"Error: Unclosed configuration block", broken + " was not formatted because it does not parse."} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
	}
}

func TestFmtStdin(t *testing.T) {
	tests := map[string]struct {
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
	}{
		"format":        {stdin: messySrc, wantStdout: formattedSrc},
		"already clean": {stdin: formattedSrc, wantStdout: formattedSrc},
		"check messy":   {args: []string{"-check"}, stdin: messySrc, wantCode: exitFmtCheck},
		"check clean":   {args: []string{"-check"}, stdin: formattedSrc},
		"broken":        {stdin: brokenSrc, wantCode: exitError},
		"diff":          {args: []string{"-diff"}, stdin: "a=1\n", wantStdout: "diff old/<stdin> new/<stdin>\n--- old/<stdin>\n+++ new/<stdin>\n@@ -1,1 +1,1 @@\n-a=1\n+a = 1\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, stdout, stderr := testStreams(tc.stdin)
			code := run(append(append([]string{"fmt"}, tc.args...), "-"), s)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if stdout.String() != tc.wantStdout {
				t.Fatalf("stdout %q, want %q", stdout, tc.wantStdout)
			}
		})
	}
}

func TestFmtMissingPath(t *testing.T) {
	s, _, stderr := testStreams("")
	if code := run([]string{"fmt", filepath.Join(t.TempDir(), "nope")}, s); code != exitError {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "no such file") {
		t.Fatalf("stderr: %s", stderr)
	}
}
