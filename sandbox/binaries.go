package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Product is an agent the sandbox can build and run.
type Product string

const (
	Nomad  Product = "nomad"
	Consul Product = "consul"
)

// The versions a sandbox runs when a spec names none. 1.9.4 is the other
// pinned Nomad version: the real 1.9.4 -> 1.10.0 upgrade path.
const (
	DefaultNomadVersion  = "1.10.0"
	OldNomadVersion      = "1.9.4"
	DefaultConsulVersion = "1.21.0"
	// OldConsulVersion is the other pinned Consul version: the
	// 1.20.6 -> 1.21.0 rolling upgrade of Consul servers.
	OldConsulVersion = "1.20.6"
)

// pin is one buildable agent version: the tools module (a directory under
// tools/ in the nrun repository) whose `tool` directive and replace/exclude
// directives make that version build with this Go.
type pin struct {
	product Product
	version string
	module  string // directory under tools/
	pkg     string // main package to build
	env     []string
}

var pins = []pin{
	{Nomad, "1.10.0", "nomad-1.10", "github.com/hashicorp/nomad", nil},
	{Nomad, "1.9.4", "nomad-1.9", "github.com/hashicorp/nomad", nil},
	// The checksum database has no entry for consul-awsauth; go.sum in the
	// tools module records it, GONOSUMDB only matters on a cold module cache.
	{Consul, "1.21.0", "consul-1.21", "github.com/hashicorp/consul", []string{"GONOSUMDB=github.com/hashicorp/consul-awsauth"}},
	{Consul, "1.20.6", "consul-1.20", "github.com/hashicorp/consul", []string{"GONOSUMDB=github.com/hashicorp/consul-awsauth"}},
}

// Pinned lists the product/version pairs the sandbox can build, in the
// order `nrun sandbox build` builds them.
func Pinned() [][2]string {
	var out [][2]string
	for _, p := range pins {
		out = append(out, [2]string{string(p.product), p.version})
	}
	return out
}

func findPin(product Product, version string) (pin, bool) {
	for _, p := range pins {
		if p.product == product && p.version == version {
			return p, true
		}
	}
	return pin{}, false
}

// EnvName is the environment variable that names an explicit binary for one
// product version, for example NRUN_NOMAD_BIN_1_10_0. Dots are not valid in
// environment variable names, so they become underscores.
func EnvName(product Product, version string) string {
	return "NRUN_" + strings.ToUpper(string(product)) + "_BIN_" + strings.NewReplacer(".", "_", "-", "_").Replace(version)
}

// Binaries finds or builds agent binaries. Resolution order for a product
// version: the EnvName variable, then a binary of that name on PATH whose
// `version` output matches, then the cache, then a build from the tools
// module into the cache. The zero value is ready to use.
type Binaries struct {
	// CacheDir holds one binary per version (nomad-1.10.0, consul-1.21.0).
	// Empty means os.UserCacheDir()/nrun/bin.
	CacheDir string
	// ToolsDir is the directory that holds the tools modules (nomad-1.10,
	// nomad-1.9, consul-1.21, consul-1.20). Empty means: $NRUN_TOOLS_DIR, else tools/ in
	// the nrun module found upward from the working directory, else tools/
	// next to this package's source (which works for `go test` and `go run`
	// from anywhere on the machine that compiled it).
	ToolsDir string
	// Progress receives one-line progress messages; nil means os.Stderr.
	Progress io.Writer
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

func (b *Binaries) getenv(k string) string {
	if b.Getenv != nil {
		return b.Getenv(k)
	}
	return os.Getenv(k)
}

func (b *Binaries) progress() io.Writer {
	if b.Progress != nil {
		return b.Progress
	}
	return os.Stderr
}

// Dir returns the cache directory.
func (b *Binaries) Dir() (string, error) {
	if b.CacheDir != "" {
		return b.CacheDir, nil
	}
	if d := b.getenv("NRUN_CACHE_DIR"); d != "" {
		return filepath.Join(d, "bin"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for agent binaries (%v); set NRUN_CACHE_DIR or XDG_CACHE_HOME", err)
	}
	return filepath.Join(d, "nrun", "bin"), nil
}

// Path returns an executable for product at version, building it into the
// cache when nothing else provides it. A build holds a file lock, so
// concurrent test binaries wait for each other instead of both building.
func (b *Binaries) Path(ctx context.Context, product Product, version string) (string, error) {
	if p := b.getenv(EnvName(product, version)); p != "" {
		if err := checkVersion(ctx, p, product, version); err != nil {
			return "", fmt.Errorf("%s names %s: %w", EnvName(product, version), p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath(string(product)); err == nil {
		if checkVersion(ctx, p, product, version) == nil {
			return p, nil
		}
	}
	if _, ok := findPin(product, version); !ok {
		return "", fmt.Errorf("no %s %s: set %s to a binary of that version; the sandbox can build only %s", product, version, EnvName(product, version), pinnedList())
	}
	dir, err := b.Dir()
	if err != nil {
		return "", err
	}
	target := filepath.Join(dir, string(product)+"-"+version)
	if isExecutable(target) {
		return target, nil
	}
	if err := b.build(ctx, product, version, target); err != nil {
		return "", err
	}
	return target, nil
}

// Cached reports whether product version is already available without a
// build (explicit binary, PATH or cache).
func (b *Binaries) Cached(ctx context.Context, product Product, version string) bool {
	if b.getenv(EnvName(product, version)) != "" {
		return true
	}
	if p, err := exec.LookPath(string(product)); err == nil && checkVersion(ctx, p, product, version) == nil {
		return true
	}
	dir, err := b.Dir()
	return err == nil && isExecutable(filepath.Join(dir, string(product)+"-"+version))
}

func pinnedList() string {
	var s []string
	for _, p := range pins {
		s = append(s, string(p.product)+" "+p.version)
	}
	return strings.Join(s, ", ")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// checkVersion runs `BIN version` and expects "Nomad v1.10.0" (or
// "Consul v1.21.0") as its first line.
func checkVersion(ctx context.Context, bin string, product Product, version string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return fmt.Errorf("`%s version` failed: %v", bin, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	f := strings.Fields(first)
	if len(f) < 2 || !strings.EqualFold(f[0], string(product)) || f[1] != "v"+version {
		return fmt.Errorf("`%s version` says %q, want %s v%s", bin, first, product, version)
	}
	return nil
}

func (b *Binaries) toolsDir() (string, error) {
	if b.ToolsDir != "" {
		return b.ToolsDir, nil
	}
	if d := b.getenv("NRUN_TOOLS_DIR"); d != "" {
		return d, nil
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if isNrunRoot(d) {
				return filepath.Join(d, "tools"), nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	// Under `go test` and `go run` the source path is compiled in (no
	// -trimpath), which finds the tools modules even when the working
	// directory is a testscript $WORK directory.
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		d := filepath.Dir(filepath.Dir(file))
		if isNrunRoot(d) {
			return filepath.Join(d, "tools"), nil
		}
	}
	return "", errors.New("cannot find the nrun tools modules (tools/nomad-1.10, ...): run from inside the nrun repository, or set NRUN_TOOLS_DIR to its tools directory")
}

func isNrunRoot(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(data), "\n")
	if strings.TrimSpace(first) != "module github.com/nrun-dev/nrun" {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, "tools"))
	return err == nil && fi.IsDir()
}

// ColdBuildTime is the measured time to build every pinned agent on a
// 2-core machine with empty Go module and build caches (21 minutes for the
// first three, with other work on the machine, plus 3m20s for Consul
// 1.20.6, which shares most modules with 1.21.0); README, .ci/run and
// `sandbox -help` state the same figure.
const ColdBuildTime = "about 25 minutes"

// BuildProgressEvery is how often a running build prints that it still runs.
var BuildProgressEvery = 30 * time.Second

// build compiles one pinned version into target: lock, re-check, build to a
// temporary file in the same directory, rename. A crash mid-build leaves
// only a temporary file that the next build overwrites.
func (b *Binaries) build(ctx context.Context, product Product, version, target string) error {
	p, _ := findPin(product, version)
	tools, err := b.toolsDir()
	if err != nil {
		return err
	}
	modDir := filepath.Join(tools, p.module)
	if _, err := os.Stat(filepath.Join(modDir, "go.mod")); err != nil {
		return fmt.Errorf("tools module for %s %s: %w", product, version, err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building %s %s needs the go command on PATH (or set %s to a binary): %w", product, version, EnvName(product, version), err)
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, target+".lock", func() {
		fmt.Fprintf(b.progress(), "nrun sandbox: waiting for another process that is building %s %s into %s\n", product, version, dir)
	})
	if err != nil {
		return err
	}
	defer unlock()
	if isExecutable(target) {
		return nil // built by whoever held the lock
	}
	start := time.Now()
	fmt.Fprintf(b.progress(), "nrun sandbox: building %s %s from %s into %s.\nnrun sandbox: this is a one-time cost (%s for all pinned versions on 2 cores with cold Go caches); later runs use the cache.\n", product, version, modDir, target, ColdBuildTime)
	tmp := fmt.Sprintf("%s.tmp-%d", target, os.Getpid())
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp, p.pkg)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), p.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// A cold build is silent for minutes; a line every BuildProgressEvery
	// tells a person (and a CI system that kills silent jobs) it still runs.
	stopTick := make(chan struct{})
	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		t := time.NewTicker(BuildProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-stopTick:
				return
			case <-t.C:
				fmt.Fprintf(b.progress(), "nrun sandbox: still building %s %s (%s)\n", product, version, time.Since(start).Round(time.Second))
			}
		}
	}()
	err = cmd.Run()
	close(stopTick)
	<-tickDone
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("building %s %s in %s failed after %s: %v\n%s", product, version, modDir, time.Since(start).Round(time.Second), err, tail(out.String(), 40))
	}
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(b.progress(), "nrun sandbox: built %s %s in %s\n", product, version, time.Since(start).Round(time.Second))
	return nil
}

// lockFile takes an exclusive flock on path, polling so ctx can cancel the
// wait. waiting is called once if the lock is busy.
func lockFile(ctx context.Context, path string, waiting func()) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !told {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
