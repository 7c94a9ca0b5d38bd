package acl_test

import (
	"io"
	"strings"
	"testing"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestCatalogCapabilitiesLive proves on a secure sandbox the Nomad rules
// the catalog states that differ from what the API's name suggests: the
// Raft configuration, Raft peer removal, leadership transfer and snapshot
// save and restore need a management token (operator write is refused); autopilot
// health needs operator read; gossip members need node read; force-leave
// needs agent write. And Consul's: snapshot save and restore need management,
// force-leave and Raft peer removal operator write.
func TestCatalogCapabilitiesLive(t *testing.T) {
	sandboxtest.Timer(t)
	spec := sandbox.DefaultSpec("", 1, 0, 1, sandbox.DefaultNomadVersion)
	spec.Secure = true
	c := sandboxtest.New(t, spec)
	env := map[string]string{}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	client := func(secret string) *api.Client {
		cfg := api.DefaultConfig()
		cfg.Address, cfg.SecretID = env["NOMAD_ADDR"], secret
		cfg.TLSConfig.CACert, cfg.TLSConfig.ClientCert, cfg.TLSConfig.ClientKey = env["NOMAD_CACERT"], env["NOMAD_CLIENT_CERT"], env["NOMAD_CLIENT_KEY"]
		cl, err := api.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	mgmt := client(env["NOMAD_TOKEN"])
	token := func(name, rules string) *api.Client {
		if _, err := mgmt.ACLPolicies().Upsert(&api.ACLPolicy{Name: name, Rules: rules}, nil); err != nil {
			t.Fatal(err)
		}
		tok, _, err := mgmt.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{name}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return client(tok.SecretID)
	}
	all := token("all-write", `operator { policy = "write" }
node { policy = "write" }
agent { policy = "write" }`)
	opRead := token("operator-read", `operator { policy = "read" }`)
	nodeRead := token("node-read", `node { policy = "read" }`)
	agentRead := token("agent-read", `agent { policy = "read" }`)

	denied := func(what string, err error, want bool) {
		t.Helper()
		got := err != nil && strings.Contains(err.Error(), "403")
		if got != want {
			t.Errorf("%s: err = %v, want refused = %v", what, err, want)
		}
	}
	_, err := all.Operator().RaftGetConfiguration(nil)
	denied("raft configuration with operator write", err, true)
	_, err = mgmt.Operator().RaftGetConfiguration(nil)
	denied("raft configuration with management", err, false)
	denied("raft remove peer with operator write", all.Operator().RaftRemovePeerByID("00000000-0000-0000-0000-000000000000", nil), true)
	denied("leadership transfer with operator write", all.Operator().RaftTransferLeadershipByID("00000000-0000-0000-0000-000000000000", nil), true)
	rc, err := all.Operator().Snapshot(nil)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	denied("snapshot save with operator write", err, true)
	// Restore: refused before the body is decoded, so a body that is no
	// snapshot proves the rule without touching the state. The agent
	// streams the body to the server, which can close the stream on the
	// refusal while the body is still being sent: that answer (a 500,
	// "closed pipe") says nothing either way, so it is asked again.
	for i := 0; i < 20; i++ {
		_, err = all.Operator().SnapshotRestore(strings.NewReader("not a snapshot"), nil)
		if err == nil || !strings.Contains(err.Error(), "closed pipe") {
			break
		}
	}
	denied("snapshot restore with operator write", err, true)
	_, _, err = opRead.Operator().AutopilotServerHealth(nil)
	denied("autopilot health with operator read", err, false)
	_, err = nodeRead.Agent().Members()
	denied("members with node read", err, false)
	_, err = opRead.Agent().Members()
	denied("members with operator read only", err, true)
	denied("force-leave with agent read", agentRead.Agent().ForceLeave("nobody.global"), true)
	denied("force-leave with agent write", all.Agent().ForceLeave("nobody.global"), false)

	// Consul: snapshot save needs management (operator write is refused);
	// force-leave and Raft peer removal need operator write.
	cclient := func(token string) *consulapi.Client {
		cfg := consulapi.DefaultConfig()
		cfg.Address, cfg.Scheme, cfg.Token = strings.TrimPrefix(env["CONSUL_HTTP_ADDR"], "https://"), "https", token
		cfg.TLSConfig.CAFile, cfg.TLSConfig.CertFile, cfg.TLSConfig.KeyFile = env["CONSUL_CACERT"], env["CONSUL_CLIENT_CERT"], env["CONSUL_CLIENT_KEY"]
		cl, err := consulapi.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	cm := cclient(env["CONSUL_HTTP_TOKEN"])
	ctoken := func(name, rules string) *consulapi.Client {
		p, _, err := cm.ACL().PolicyCreate(&consulapi.ACLPolicy{Name: name, Rules: rules}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := cm.ACL().TokenCreate(&consulapi.ACLToken{Policies: []*consulapi.ACLTokenPolicyLink{{ID: p.ID}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cclient(tok.SecretID)
	}
	cWrite := ctoken("operator-write", `operator = "write"`)
	cRead := ctoken("operator-read", `operator = "read"`)
	snap, _, err := cWrite.Snapshot().Save(nil)
	if err == nil {
		_, err = io.ReadAll(snap)
		snap.Close()
	}
	denied("consul snapshot save with operator write", err, true)
	denied("consul snapshot restore with operator write", cWrite.Snapshot().Restore(nil, strings.NewReader("not a snapshot")), true)
	denied("consul force-leave with operator read", cRead.Agent().ForceLeave("nobody"), true)
	denied("consul force-leave with operator write", cWrite.Agent().ForceLeave("nobody"), false)
	denied("consul raft remove peer with operator read", cRead.Operator().RaftRemovePeerByAddress("127.0.0.1:1", nil), true)
	err = cWrite.Operator().RaftRemovePeerByAddress("127.0.0.1:1", nil)
	denied("consul raft remove peer with operator write", err, false)
}
