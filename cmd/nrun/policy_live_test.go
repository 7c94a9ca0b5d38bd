package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestPolicyPreflightLive proves on a sandbox with mutual TLS and
// default-deny ACLs that the policy nrun policy prints for the drain
// runbook is enough: a token holding exactly it passes plan's preflight
// and the plan reads the cluster with it (the Raft view from autopilot,
// without management); the same policy with node read instead of write
// fails plan, naming the steps and the capability; a management token
// passes; a token that expires before the plan's timeouts fails.
func TestPolicyPreflightLive(t *testing.T) {
	sandboxtest.Timer(t)
	spec := sandbox.DefaultSpec("", 1, 1, 1, sandbox.DefaultNomadVersion)
	spec.Secure = true
	c := sandboxtest.New(t, spec)
	env := map[string]string{}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	runbook, err := filepath.Abs("../../runbooks/drain-node-pool.nrun.hcl")
	if err != nil {
		t.Fatal(err)
	}
	nrun := func(token string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		s := &streams{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
			Getenv: func(k string) string {
				if k == "NOMAD_TOKEN" && token != "" {
					return token
				}
				return env[k]
			}}
		code := run(args, s)
		return code, stdout.String(), stderr.String()
	}

	code, policy, stderr := nrun("", "policy", "-api", "nomad", runbook)
	if code != 0 {
		t.Fatalf("nrun policy exited %d: %s", code, stderr)
	}

	cfg := api.DefaultConfig()
	cfg.Address, cfg.SecretID = env["NOMAD_ADDR"], env["NOMAD_TOKEN"]
	cfg.TLSConfig.CACert, cfg.TLSConfig.ClientCert, cfg.TLSConfig.ClientKey = env["NOMAD_CACERT"], env["NOMAD_CLIENT_CERT"], env["NOMAD_CLIENT_KEY"]
	cl, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	token := func(name, rules string, ttl string) *api.ACLToken {
		t.Helper()
		if _, err := cl.ACLPolicies().Upsert(&api.ACLPolicy{Name: name, Rules: rules}, nil); err != nil {
			t.Fatalf("policy %s: %v\n%s", name, err, rules)
		}
		tok := &api.ACLToken{Name: name, Type: "client", Policies: []string{name}}
		if ttl != "" {
			d, err := time.ParseDuration(ttl)
			if err != nil {
				t.Fatal(err)
			}
			tok.ExpirationTTL = d
		}
		out, _, err := cl.ACLTokens().Create(tok, nil)
		if err != nil {
			t.Fatalf("token %s: %v", name, err)
		}
		return out
	}

	exact := token("nrun-drain", policy, "")
	code, stdout, stderr := nrun(exact.SecretID, "plan", "-no-color", runbook)
	if code != 0 {
		t.Fatalf("plan with the printed policy exited %d:\n%s\n%s", code, stdout, stderr)
	}
	if want := "Nomad token checked: accessor " + exact.AccessorID + ", policies nrun-drain."; !strings.Contains(stdout, want) {
		t.Errorf("plan does not show the identity %q:\n%s", want, stdout)
	}
	// The node was read with the policy (node read, allocations by
	// read-job), so the drain has an instance for it.
	if !strings.Contains(stdout, `step.drain["c1"]`) {
		t.Errorf("the plan has no drain of c1:\n%s", stdout)
	}
	if strings.Contains(stdout+stderr, exact.SecretID) {
		t.Error("the plan shows the token's secret")
	}

	// Apply with the same token: the eligibility and drain calls, the
	// waits and the executor's reads are all covered by the policy.
	// (In a directory of its own for the state; -chdir would move this
	// test process and every test after it.)
	t.Chdir(t.TempDir())
	code, stdout, stderr = nrun(exact.SecretID, "apply", "-auto-approve", "-no-color", "-var", "deadline=1m", runbook)
	if code != 0 {
		t.Fatalf("apply with the printed policy exited %d:\n%s\n%s", code, stdout, stderr)
	}

	readOnly := token("nrun-drain-ro", strings.Replace(policy, "node {\n  policy = \"write\"", "node {\n  policy = \"read\"", 1), "")
	code, stdout, stderr = nrun(readOnly.SecretID, "plan", "-no-color", runbook)
	if code != 1 {
		t.Fatalf("plan without node write exited %d, want 1:\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		`step.drain action "nomad_node_drain": needs node write; the token's policies grant node read.`,
		`step.ineligible action "nomad_node_eligibility": needs node write`,
	} {
		// Diagnostics are wrapped to the terminal's width.
		if !strings.Contains(strings.Join(strings.Fields(stderr), " "), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	code, stdout, stderr = nrun("", "plan", "-no-color", runbook)
	if code != 0 || !strings.Contains(stdout, ", management.") {
		t.Errorf("plan with the management token exited %d:\n%s\n%s", code, stdout, stderr)
	}

	short := token("nrun-drain-short", policy, "10m")
	code, _, stderr = nrun(short.SecretID, "plan", "-no-color", runbook)
	if code != 1 || !strings.Contains(stderr, "expires before the run's timeouts are up") {
		t.Errorf("plan with a token expiring in 10m exited %d:\n%s", code, stderr)
	}
}

// TestPreflightACLDisabledLive: against a cluster without ACLs the
// preflight notes it and plan goes on.
func TestPreflightACLDisabledLive(t *testing.T) {
	sandboxtest.Timer(t)
	c := sandboxtest.New(t, sandbox.DefaultSpec("", 1, 1, 0, sandbox.DefaultNomadVersion))
	env := map[string]string{}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	runbook, err := filepath.Abs("../../runbooks/drain-node-pool.nrun.hcl")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	s := &streams{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	if code := run([]string{"plan", "-no-color", runbook}, s); code != 0 {
		t.Fatalf("plan exited %d:\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "Nomad ACLs are disabled: no token checked.") {
		t.Errorf("plan does not say ACLs are disabled:\n%s", stdout.String())
	}
}

// TestPolicyConsulLive: the Consul policy nrun policy prints for a
// maintenance round trip is enough to plan and apply it with a Consul
// token holding exactly it (and a Nomad token holding the Nomad policy);
// with node_prefix read instead of write plan exits 1 naming the steps.
func TestPolicyConsulLive(t *testing.T) {
	sandboxtest.Timer(t)
	spec := sandbox.DefaultSpec("", 1, 1, 1, sandbox.DefaultNomadVersion)
	spec.Secure = true
	c := sandboxtest.New(t, spec)
	env := map[string]string{}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	runbook, err := filepath.Abs("testdata/policy/consul-maint.nrun.hcl")
	if err != nil {
		t.Fatal(err)
	}
	nrun := func(nomadToken, consulToken string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		s := &streams{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
			Getenv: func(k string) string {
				switch {
				case k == "NOMAD_TOKEN" && nomadToken != "":
					return nomadToken
				case k == "CONSUL_HTTP_TOKEN" && consulToken != "":
					return consulToken
				}
				return env[k]
			}}
		code := run(args, s)
		return code, stdout.String(), stderr.String()
	}
	_, nomadPolicy, _ := nrun("", "", "policy", "-api", "nomad", runbook)
	code, consulPolicy, stderr := nrun("", "", "policy", "-api", "consul", runbook)
	if code != 0 {
		t.Fatalf("nrun policy exited %d: %s", code, stderr)
	}

	ncfg := api.DefaultConfig()
	ncfg.Address, ncfg.SecretID = env["NOMAD_ADDR"], env["NOMAD_TOKEN"]
	ncfg.TLSConfig.CACert, ncfg.TLSConfig.ClientCert, ncfg.TLSConfig.ClientKey = env["NOMAD_CACERT"], env["NOMAD_CLIENT_CERT"], env["NOMAD_CLIENT_KEY"]
	ncl, err := api.NewClient(ncfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ncl.ACLPolicies().Upsert(&api.ACLPolicy{Name: "nrun-read", Rules: nomadPolicy}, nil); err != nil {
		t.Fatal(err)
	}
	ntok, _, err := ncl.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"nrun-read"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	ccfg := consulapi.DefaultConfig()
	ccfg.Address, ccfg.Scheme, ccfg.Token = strings.TrimPrefix(env["CONSUL_HTTP_ADDR"], "https://"), "https", env["CONSUL_HTTP_TOKEN"]
	ccfg.TLSConfig.CAFile, ccfg.TLSConfig.CertFile, ccfg.TLSConfig.KeyFile = env["CONSUL_CACERT"], env["CONSUL_CLIENT_CERT"], env["CONSUL_CLIENT_KEY"]
	ccl, err := consulapi.NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	ctoken := func(name, rules string) *consulapi.ACLToken {
		t.Helper()
		p, _, err := ccl.ACL().PolicyCreate(&consulapi.ACLPolicy{Name: name, Rules: rules}, nil)
		if err != nil {
			t.Fatalf("consul policy %s: %v\n%s", name, err, rules)
		}
		tok, _, err := ccl.ACL().TokenCreate(&consulapi.ACLToken{Policies: []*consulapi.ACLTokenPolicyLink{{ID: p.ID}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	exact := ctoken("nrun-maint", consulPolicy)
	code, stdout, stderr := nrun(ntok.SecretID, exact.SecretID, "plan", "-no-color", runbook)
	if code != 0 {
		t.Fatalf("plan with the printed policies exited %d:\n%s\n%s", code, stdout, stderr)
	}
	if want := "Consul token checked: accessor " + exact.AccessorID + ", policies nrun-maint."; !strings.Contains(stdout, want) {
		t.Errorf("plan does not show %q:\n%s", want, stdout)
	}
	t.Chdir(t.TempDir())
	code, stdout, stderr = nrun(ntok.SecretID, exact.SecretID, "apply", "-auto-approve", "-no-color", runbook)
	if code != 0 {
		t.Fatalf("apply with the printed policies exited %d:\n%s\n%s", code, stdout, stderr)
	}

	readOnly := ctoken("nrun-maint-ro", strings.Replace(consulPolicy, "node_prefix \"\" {\n  policy = \"write\"", "node_prefix \"\" {\n  policy = \"read\"", 1))
	code, stdout, stderr = nrun(ntok.SecretID, readOnly.SecretID, "plan", "-no-color", runbook)
	flat := strings.Join(strings.Fields(stderr), " ")
	if code != 1 || !strings.Contains(flat, `step.maint action "consul_maintenance": needs node write; the token's policies grant node_prefix "" read.`) {
		t.Errorf("plan without node write exited %d:\n%s\n%s", code, stdout, stderr)
	}

	// With a backend the preflight checks what the backend needs too: the
	// runbook's policies alone lack it and plan names the missing rules;
	// the policies nrun policy -backend prints pass.
	code, stdout, stderr = nrun(ntok.SecretID, exact.SecretID, "plan", "-no-color", "-backend=consul", runbook)
	t.Logf("plan -backend=consul refused:\n%s", stderr)
	flat = strings.Join(strings.Fields(stderr), " ")
	for _, want := range []string{
		"The Consul token lacks key_prefix:nrun/consul-maint/:write",
		"The Consul token lacks session_prefix::write",
		`backend the lock's session: needs session_prefix "" write;`,
		`backend the lock and the runs in Consul KV nrun/consul-maint: needs key_prefix "nrun/consul-maint/" write; the token's policies grant key_prefix "nrun/consul-maint/" nothing.`,
		"nrun policy -backend=consul",
	} {
		if code != 1 || !strings.Contains(flat, want) {
			t.Errorf("plan -backend=consul with the runbook's policy only: exit %d, want 1 and %q:\n%s\n%s", code, want, stdout, stderr)
		}
	}
	code, stdout, stderr = nrun(ntok.SecretID, exact.SecretID, "plan", "-no-color", "-backend=nomad", runbook)
	flat = strings.Join(strings.Fields(stderr), " ")
	if want := `The Nomad token lacks variables:nrun/consul-maint/*:read,list,write,destroy`; code != 1 || !strings.Contains(flat, want) || !strings.Contains(flat, `nothing on the variable nrun/consul-maint/lock in namespace "default"`) {
		t.Errorf("plan -backend=nomad with the runbook's policy only: exit %d, want 1 and %q:\n%s\n%s", code, want, stdout, stderr)
	}
	_, consulBackend, _ := nrun("", "", "policy", "-api", "consul", "-backend=consul", runbook)
	_, nomadBackend, _ := nrun("", "", "policy", "-api", "nomad", "-backend=nomad", runbook)
	if !strings.Contains(consulBackend, "key_prefix") || !strings.Contains(nomadBackend, "variables") {
		t.Fatalf("nrun policy -backend does not print the backend's rules:\n%s\n%s", consulBackend, nomadBackend)
	}
	withConsul := ctoken("nrun-maint-backend", consulBackend)
	if code, stdout, stderr = nrun(ntok.SecretID, withConsul.SecretID, "plan", "-no-color", "-backend=consul", runbook); code != 0 {
		t.Errorf("plan -backend=consul with the printed policy exited %d:\n%s\n%s", code, stdout, stderr)
	}
	if _, err := ncl.ACLPolicies().Upsert(&api.ACLPolicy{Name: "nrun-read-backend", Rules: nomadBackend}, nil); err != nil {
		t.Fatal(err)
	}
	ntokB, _, err := ncl.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"nrun-read-backend"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr = nrun(ntokB.SecretID, exact.SecretID, "plan", "-no-color", "-backend=nomad", runbook); code != 0 {
		t.Errorf("plan -backend=nomad with the printed policy exited %d:\n%s\n%s", code, stdout, stderr)
	}
	// And apply runs with it: the lock and the runs in Nomad variables.
	if code, stdout, stderr = nrun(ntokB.SecretID, exact.SecretID, "apply", "-auto-approve", "-no-color", "-backend=nomad", runbook); code != 0 {
		t.Errorf("apply -backend=nomad with the printed policies exited %d:\n%s\n%s", code, stdout, stderr)
	}
}
