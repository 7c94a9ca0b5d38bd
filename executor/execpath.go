package executor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// selfDir returns the directory of the running nrun binary when it is
// named nrun, else "". `go run ./cmd/nrun` builds a binary named nrun in
// a temporary directory, so this covers an installed nrun and go run alike.
func selfDir() string {
	exe, err := os.Executable()
	if err != nil || filepath.Base(exe) != "nrun" {
		return ""
	}
	return filepath.Dir(exe)
}

// execEnviron returns environ with dir put first on PATH, so that an exec
// action's `nrun ...` (a runbook driving the sandbox, say) runs the same
// nrun that runs the runbook, whether or not an nrun is installed.
func execEnviron(environ []string, dir string) []string {
	if dir == "" {
		return environ
	}
	out := make([]string, 0, len(environ)+1)
	found := false
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv, found = "PATH="+dir+string(os.PathListSeparator)+v, true
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "PATH="+dir)
	}
	return out
}

// pathOf returns the last PATH in environ, the one a child would see.
func pathOf(environ []string) string {
	path := ""
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	return path
}

// lookPathIn is exec.LookPath against the child's PATH rather than this
// process's: exec.Command resolves a bare name with the parent's PATH.
func lookPathIn(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &fs.PathError{Op: "exec", Path: file, Err: errors.New("executable file not found in PATH")}
}
