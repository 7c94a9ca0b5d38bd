package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nrun-dev/nrun/sandbox"
)

// sandboxVarFile is the variable file apply -sandbox reads from the
// runbook's directory when no -var or -var-file is given.
const sandboxVarFile = "sandbox.nrunvars.hcl"

// applySandbox starts the local sandbox for apply -sandbox, or reuses the
// one in $NRUN_SANDBOX_DIR (default .nrun/sandbox): 3 Nomad servers on
// the old pinned version, 2 clients running the demo job and 3 Consul
// servers. Every pinned agent is built first if it is not cached, so the
// runbook never waits on a compiler with a server down. It returns
// the environment that points nrun, its exec commands and the nomad CLI at
// the sandbox. NOMAD_ADDR is a client agent's: a client forwards to
// whichever server leads, so it stays reachable while servers restart.
func applySandbox(ctx context.Context, s *streams) (map[string]string, error) {
	dir := s.Getenv("NRUN_SANDBOX_DIR")
	if dir == "" {
		dir = filepath.Join(".nrun", "sandbox")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	opts := sandbox.Options{
		Binaries: &sandbox.Binaries{Progress: s.Stderr, Getenv: s.Getenv},
		Progress: s.Stderr,
		Detach:   true,
	}
	// Every pinned agent is built before the cluster changes: the rolling
	// upgrade starts servers on the new version, and a server must not stay
	// down for minutes while its binary compiles.
	for _, p := range sandbox.Pinned() {
		product, version := sandbox.Product(p[0]), p[1]
		if opts.Binaries.Cached(ctx, product, version) {
			continue
		}
		fmt.Fprintf(s.Stderr, "nrun apply: building %s %s before anything in the cluster changes\n", product, version)
		if _, err := opts.Binaries.Path(ctx, product, version); err != nil {
			return nil, err
		}
	}
	c, err := sandbox.Open(dir, opts)
	switch {
	case err == nil:
		fmt.Fprintf(s.Stderr, "nrun apply: reusing the sandbox in %s (starting any stopped agent)\n", dir)
		if err := c.Resume(ctx); err != nil {
			return nil, err
		}
	case errors.Is(err, sandbox.ErrNoSandbox):
		fmt.Fprintf(s.Stderr, "nrun apply: starting a sandbox in %s: 3 Nomad %s servers, 2 clients, 3 Consul servers\n", dir, sandbox.OldNomadVersion)
		spec := sandbox.DefaultSpec(dir, 3, 2, 3, sandbox.OldNomadVersion)
		spec.Options = opts
		if c, err = sandbox.Start(ctx, spec); err != nil {
			return nil, err
		}
		fmt.Fprintf(s.Stderr, "nrun apply: starting the %q job on the clients\n", sandbox.DemoJob)
		if err := c.RunDemoJob(ctx); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	env := map[string]string{
		// Settings meant for another cluster must not leak into this
		// run; a secure sandbox's own TLS files and tokens come from
		// c.Env below.
		"NOMAD_TOKEN": "", "CONSUL_HTTP_TOKEN": "", "NOMAD_NAMESPACE": "",
		"NOMAD_CACERT": "", "NOMAD_CLIENT_CERT": "", "NOMAD_CLIENT_KEY": "",
		"CONSUL_CACERT": "", "CONSUL_CLIENT_CERT": "", "CONSUL_CLIENT_KEY": "",
	}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, a := range c.Agents() {
		if a.Kind == sandbox.NomadClient {
			scheme := "http://"
			if c.Secure() {
				scheme = "https://"
			}
			env["NOMAD_ADDR"] = scheme + a.HTTPAddr()
			break
		}
	}
	return env, nil
}

// withEnv returns a copy of s whose Getenv sees env first.
func withEnv(s *streams, env map[string]string) *streams {
	s2 := *s
	get := s.Getenv
	s2.Getenv = func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return get(k)
	}
	return &s2
}

// environList is env as sorted KEY=value entries.
func environList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// sandboxVars returns the sandbox variable file next to the runbook at
// path, "" when there is none.
func sandboxVars(path string) string {
	dir := path
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	f := filepath.Join(dir, sandboxVarFile)
	if _, err := os.Stat(f); err != nil {
		return ""
	}
	return f
}
