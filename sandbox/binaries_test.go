package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnvName(t *testing.T) {
	tests := map[string]struct {
		product Product
		version string
		want    string
	}{
		"nomad 1.10.0":  {Nomad, "1.10.0", "NRUN_NOMAD_BIN_1_10_0"},
		"nomad 1.9.4":   {Nomad, "1.9.4", "NRUN_NOMAD_BIN_1_9_4"},
		"consul 1.21.0": {Consul, "1.21.0", "NRUN_CONSUL_BIN_1_21_0"},
		"consul 1.20.6": {Consul, OldConsulVersion, "NRUN_CONSUL_BIN_1_20_6"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := EnvName(tc.product, tc.version); got != tc.want {
				t.Errorf("EnvName = %s, want %s", got, tc.want)
			}
		})
	}
}

// fakeAgent writes a script that answers `version` like the real binary.
func fakeAgent(t *testing.T, dir, name, firstLine string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho '"+firstLine+"'\necho 'Revision abc'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExplicitBinary(t *testing.T) {
	dir := t.TempDir()
	good := fakeAgent(t, dir, "nomad-good", "Nomad v1.10.0")
	bad := fakeAgent(t, dir, "nomad-bad", "Nomad v1.9.4")
	tests := map[string]struct {
		env     string
		wantErr string
	}{
		"matching version wins":    {env: good},
		"wrong version is refused": {env: bad, wantErr: `says "Nomad v1.9.4", want nomad v1.10.0`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := &Binaries{CacheDir: t.TempDir(), Getenv: func(k string) string {
				if k == "NRUN_NOMAD_BIN_1_10_0" {
					return tc.env
				}
				return ""
			}}
			got, err := b.Path(context.Background(), Nomad, "1.10.0")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.env {
				t.Fatalf("Path = %q, %v, want %q", got, err, tc.env)
			}
		})
	}
}

func TestUnpinnedVersionNeedsExplicitBinary(t *testing.T) {
	b := &Binaries{CacheDir: t.TempDir(), Getenv: func(string) string { return "" }}
	_, err := b.Path(context.Background(), Nomad, "1.6.5")
	if err == nil || !strings.Contains(err.Error(), "NRUN_NOMAD_BIN_1_6_5") {
		t.Fatalf("err = %v, want a hint naming NRUN_NOMAD_BIN_1_6_5", err)
	}
}

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(context.Background(), path, func() {})
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan bool, 1)
	got := make(chan error, 1)
	go func() {
		u, err := lockFile(context.Background(), path, func() { waited <- true })
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("second locker did not wait for the first")
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second locker did not get the lock after unlock")
	}
	ctx, cancel := context.WithCancel(context.Background())
	unlock, _ = lockFile(context.Background(), path, func() {})
	defer unlock()
	cancel()
	if _, err := lockFile(ctx, path, func() {}); err == nil {
		t.Fatal("a cancelled wait for a held lock must fail")
	}
}
