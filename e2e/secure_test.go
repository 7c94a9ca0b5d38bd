package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
)

// TestSecureRollingUpgrade runs the rolling upgrade over mutual TLS and
// ACLs, on one secure sandbox (three Nomad 1.9.4 servers, a client and a
// Consul server), and on the way proves what an operator of a production
// cluster relies on:
//   - a wrong CA and a client certificate from another CA each make plan
//     exit 1 within seconds, naming the variable to change;
//   - a token holding the policy `nrun policy` prints (which leaves out
//     what needs management) makes plan exit 1 naming the snapshot and
//     the leadership transfer;
//   - with the management token, plan (text, Markdown, JSON, plan file),
//     apply of that plan and status succeed, every server ends on 1.10.0;
//   - no token secret appears in any output or in any file the runs
//     wrote.
func TestSecureRollingUpgrade(t *testing.T) {
	spec := sandbox.DefaultSpec("", 3, 1, 1, sandbox.OldNomadVersion)
	spec.Secure = true
	e := newEnv(t, spec)
	// NOMAD_ADDR at the client, over https: the servers go down in turn.
	delete(e.Vars, "NOMAD_ADDR")
	sbEnv := map[string]string{}
	for _, kv := range e.SB.Env() {
		k, v, _ := strings.Cut(kv, "=")
		sbEnv[k] = v
	}
	for _, a := range e.SB.Agents() {
		if a.Kind == sandbox.NomadClient {
			e.Vars["NOMAD_ADDR"] = "https://" + a.HTTPAddr()
			break
		}
	}
	secrets := map[string]string{"the Nomad management token": sbEnv["NOMAD_TOKEN"], "the Consul management token": sbEnv["CONSUL_HTTP_TOKEN"]}
	for what, s := range secrets {
		if s == "" {
			t.Fatalf("the secure sandbox has no %s: %v", what, e.SB.Env())
		}
	}
	rb := filepath.Join(e.Dir, "runbooks")
	if err := os.MkdirAll(rb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"nomad-server-rolling-upgrade.nrun.hcl", "sandbox.nrunvars.hcl"} {
		b, err := os.ReadFile(filepath.Join(e2etest.RunbooksDir(t), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rb, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runbook := []string{"-var-file", "runbooks/sandbox.nrunvars.hcl", "runbooks/nomad-server-rolling-upgrade.nrun.hcl"}
	var outputs []e2etest.Result
	run := func(vars map[string]string, args ...string) e2etest.Result {
		t.Helper()
		r := e.nrunWith(context.Background(), vars, args...)
		outputs = append(outputs, r)
		return r
	}

	// TLS mistakes fail fast and say what to change.
	other := t.TempDir()
	otherCA, otherCert, otherKey := writeOtherCA(t, other)
	consulRunbook, err := filepath.Abs(filepath.Join("..", "cmd", "nrun", "testdata", "policy", "consul-maint.nrun.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	tlsCases := map[string]struct {
		vars map[string]string
		args []string // the runbook, when not the upgrade
		want []string
	}{
		"wrong Consul CA": {
			vars: map[string]string{"CONSUL_CACERT": otherCA},
			args: []string{consulRunbook},
			want: []string{"Consul's certificate is not signed by a trusted CA", "Set CONSUL_CACERT (or ca_cert in the runbook's consul block)"},
		},
		"Consul client certificate from another CA": {
			vars: map[string]string{"CONSUL_CLIENT_CERT": otherCert, "CONSUL_CLIENT_KEY": otherKey},
			args: []string{consulRunbook},
			want: []string{"Consul refused the client certificate", "Set CONSUL_CLIENT_CERT (or client_cert in the runbook's consul block) and CONSUL_CLIENT_KEY"},
		},
		"wrong CA": {
			vars: map[string]string{"NOMAD_CACERT": otherCA},
			want: []string{"Nomad's certificate is not signed by a trusted CA", "Set NOMAD_CACERT (or ca_cert in the runbook's nomad block)"},
		},
		"client certificate from another CA": {
			vars: map[string]string{"NOMAD_CLIENT_CERT": otherCert, "NOMAD_CLIENT_KEY": otherKey},
			want: []string{"Nomad refused the client certificate", "Set NOMAD_CLIENT_CERT (or client_cert in the runbook's nomad block) and NOMAD_CLIENT_KEY"},
		},
	}
	for name, tc := range tlsCases {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		args := runbook
		if tc.args != nil {
			args = tc.args
		}
		r := e.nrunWith(ctx, tc.vars, append([]string{"plan", "-no-color"}, args...)...)
		late := ctx.Err()
		cancel()
		outputs = append(outputs, r)
		t.Logf("%s: plan exited %d after %s:\n%s", name, r.Code, r.Took.Round(time.Millisecond), r.Stderr)
		if late != nil {
			t.Fatalf("%s: plan still running after 15s: %s", name, r)
		}
		flat := strings.Join(strings.Fields(r.Stderr), " ")
		if r.Code != 1 {
			t.Errorf("%s: plan exited %d, want 1:\n%s", name, r.Code, r)
		}
		for _, w := range tc.want {
			if !strings.Contains(flat, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", name, w, r.Stderr)
			}
		}
	}

	// A token with everything but management: plan names the steps that
	// need it.
	pol := run(nil, append([]string{"policy", "-api", "nomad"}, runbook...)...)
	if pol.Code != 0 {
		t.Fatalf("%s", pol)
	}
	nc, err := e.SB.NomadClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: "nrun-upgrade", Rules: pol.Stdout}, nil); err != nil {
		t.Fatalf("policy: %v\n%s", err, pol.Stdout)
	}
	tok, _, err := nc.ACLTokens().Create(&nomad.ACLToken{Name: "nrun-upgrade", Type: "client", Policies: []string{"nrun-upgrade"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets["the test's client token"] = tok.SecretID
	r := run(map[string]string{"NOMAD_TOKEN": tok.SecretID}, append([]string{"plan", "-no-color"}, runbook...)...)
	t.Logf("plan without management exited %d:\n%s", r.Code, r.Stderr)
	flat := strings.Join(strings.Fields(r.Stderr), " ")
	if r.Code != 1 {
		t.Errorf("plan without management exited %d, want 1:\n%s", r.Code, r)
	}
	for _, w := range []string{`step.snapshot action "nomad_snapshot_save": needs a Nomad management token`, "leader_not_target", "management token"} {
		if !strings.Contains(flat, w) {
			t.Errorf("plan without management: stderr lacks %q:\n%s", w, r.Stderr)
		}
	}

	// With the management token: every plan format, the apply of the
	// saved plan, status.
	for _, args := range [][]string{{"-no-color"}, {"-markdown"}, {"-json"}, {"-no-color", "-out", "upgrade.nrunplan"}} {
		if r := run(nil, append(append([]string{"plan"}, args...), runbook...)...); r.Code != 0 {
			t.Fatalf("%s", r)
		}
	}
	r = run(nil, "apply", "-auto-approve", "-no-color", "upgrade.nrunplan")
	t.Logf("apply of the saved plan took %s", r.Took.Round(time.Millisecond))
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	if r := run(nil, "status", "runbooks/nomad-server-rolling-upgrade.nrun.hcl"); r.Code != 0 {
		t.Errorf("%s", r)
	}
	if r := run(nil, "status", "-json", "runbooks/nomad-server-rolling-upgrade.nrun.hcl"); r.Code != 0 {
		t.Errorf("%s", r)
	}
	st := e.SB.Status()
	if len(st.Servers) != 3 {
		t.Errorf("servers: %+v", st.Servers)
	}
	for _, s := range st.Servers {
		if s.Build != sandbox.DefaultNomadVersion || !s.Running || s.Member != "alive" {
			t.Errorf("server %s after the upgrade: %+v", s.Name, s)
		}
	}

	// No secret anywhere nrun wrote.
	var files []string
	err = filepath.WalkDir(e.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(e.Dir, path)
		if strings.HasSuffix(rel, ".snap") {
			// A Raft snapshot is the cluster's own backup: it holds the
			// ACL state by design, compressed, so searching it proves
			// nothing either way.
			return nil
		}
		files = append(files, rel)
		for what, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %s", rel, what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("searched %d files: %s", len(files), strings.Join(files, ", "))
	if !containsPrefix(files, "runbooks/.nrun/runs/") || !containsPrefix(files, "upgrade.nrunplan") {
		t.Errorf("expected the plan file and the state directory among the files: %q", files)
	}
	for _, o := range outputs {
		for what, s := range secrets {
			if strings.Contains(o.Stdout+o.Stderr, s) {
				t.Errorf("the output of nrun %s holds %s", strings.Join(o.Args, " "), what)
			}
		}
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// nrunWith runs the nrun binary in e.Dir with vars over e's environment,
// killed when ctx ends.
func (e *env) nrunWith(ctx context.Context, vars map[string]string, args ...string) e2etest.Result {
	e.T.Helper()
	cmd := exec.CommandContext(ctx, e2etest.NrunBin, args...)
	cmd.Dir, cmd.Env = e.Dir, e.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := e2etest.Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(start)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		e.T.Fatalf("run nrun: %v", err)
	}
	return r
}

// writeOtherCA writes a fresh CA the sandbox does not know, and a client
// certificate it signed (valid for the sandbox's names, so only the CA is
// wrong). It returns the CA, certificate and key files.
func writeOtherCA(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "cli.global.nomad"},
		DNSNames: []string{"cli.global.nomad", "localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cli.pem"), filepath.Join(dir, "cli-key.pem")
	for path, block := range map[string]*pem.Block{ca: {Type: "CERTIFICATE", Bytes: caDER}, cert: {Type: "CERTIFICATE", Bytes: der}, key: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca, cert, key
}

// TestSecureCanaryPolicy: the job canary runbook applies over mutual TLS
// with a token holding exactly the policy `nrun policy` prints for it,
// both for a new job (v1) and for the canary rollout to v2 (register,
// canary wait, promotion).
func TestSecureCanaryPolicy(t *testing.T) {
	spec := sandbox.DefaultSpec("", 1, 2, 0, sandbox.DefaultNomadVersion)
	spec.Secure = true
	e := newEnv(t, spec)
	delete(e.Vars, "NOMAD_ADDR") // the sandbox's own, https to the server
	rb := filepath.Join(e2etest.RunbooksDir(t), "job-canary-rollout.nrun.hcl")
	jobVars := jobVarsFlag(canaryFast)

	pol := e.MustNrun("policy", "-api", "nomad", "-var", "version=2", "-var", jobVars, rb)
	nc, err := e.SB.NomadClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: "nrun-canary", Rules: pol.Stdout}, nil); err != nil {
		t.Fatalf("policy: %v\n%s", err, pol.Stdout)
	}
	tok, _, err := nc.ACLTokens().Create(&nomad.ACLToken{Name: "nrun-canary", Type: "client", Policies: []string{"nrun-canary"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	withToken := map[string]string{"NOMAD_TOKEN": tok.SecretID}

	for _, version := range []string{"1", "2"} {
		r := e.nrunWith(context.Background(), withToken, "apply", "-no-color", "-auto-approve", "-state-dir", filepath.Join(e.Dir, "state-v"+version), "-var", "version="+version, "-var", jobVars, rb)
		t.Logf("v%s apply with the printed policy took %s", version, r.Took.Round(time.Millisecond))
		if r.Code != 0 {
			t.Fatalf("v%s apply with exactly the printed policy:\n%s\npolicy:\n%s", version, r, pol.Stdout)
		}
		if strings.Contains(r.Stdout+r.Stderr, tok.SecretID) {
			t.Errorf("v%s apply shows the token's secret", version)
		}
		if version == "2" && !strings.Contains(r.Stdout, "promoted deployment") {
			t.Errorf("v2 apply did not promote the canary:\n%s", r)
		}
	}
	d, _, err := nc.Jobs().LatestDeployment("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.JobVersion != 1 || d.Status != nomad.DeploymentStatusSuccessful || d.TaskGroups["web"] == nil || !d.TaskGroups["web"].Promoted {
		t.Errorf("deployment %s: job version %d %s; want version 1 successful and promoted", d.ID, d.JobVersion, d.Status)
	}
}
