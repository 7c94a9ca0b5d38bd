package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func init() {
	register(&command{Name: "version", Synopsis: "Print the nrun version", Run: runVersion})
}

const versionHelp = `Usage: nrun version [options]

  Prints the nrun version and the Go version it was built with.

Options:

  -json  Print {"version": ..., "go": ..., "platform": ...} (platform is
         GOOS_GOARCH, as terraform version -json has it).

Exit codes:
  0  success
  1  bad usage
`

// versionInfo is what nrun version -json prints.
type versionInfo struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func runVersion(s *streams, args []string) int {
	fs := newFlagSet("version")
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		return usageError(s, "version", versionHelp, err)
	}
	if fs.NArg() > 0 {
		return usageError(s, "version", versionHelp, fmt.Errorf("version takes no arguments"))
	}
	v := versionInfo{Version: Version, Go: "unknown", Platform: runtime.GOOS + "_" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Go = bi.GoVersion
	}
	if *asJSON {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			fmt.Fprintf(s.Stderr, "nrun version: %v\n", err)
			return exitError
		}
		fmt.Fprintf(s.Stdout, "%s\n", b)
		return exitOK
	}
	fmt.Fprintf(s.Stdout, "nrun v%s (%s)\n", v.Version, v.Go)
	return exitOK
}
