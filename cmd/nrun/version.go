package main

import (
	"flag"
	"fmt"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func init() {
	register(&command{Name: "version", Synopsis: "Print the nrun version", Run: runVersion})
}

func runVersion(s *streams, args []string) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(s.Stderr)
	fs.Usage = func() {
		fmt.Fprint(s.Stderr, "Usage: nrun version\n\n  Prints the nrun version and the Go version it was built with.\n\nExit codes:\n  0  success\n  1  bad usage\n")
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(s.Stdout, "nrun v%s (%s)\n", Version, goVersion)
	return exitOK
}
