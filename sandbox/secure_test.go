package sandbox_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestSecure starts a sandbox with mutual TLS and ACLs and checks what an
// operator relies on: the plain port and a TLS connection without a client
// certificate are refused, the standard clients configured from Env alone
// work, ACLs deny an anonymous caller on Nomad and Consul, and the
// operations of the sandbox (stop, start, kill, add, remove) work through
// TLS and tokens. Three servers, because one server bootstrapped alone
// cannot take a second (bootstrap_expect = 1 on both).
func TestSecure(t *testing.T) {
	sandboxtest.Timer(t)
	spec := sandbox.DefaultSpec("", 3, 1, 1, sandbox.DefaultNomadVersion)
	spec.Secure = true
	c := sandboxtest.New(t, spec)
	if !c.Secure() {
		t.Fatal("Secure() = false for a secure sandbox")
	}
	env := map[string]string{}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, k := range []string{"NOMAD_CACERT", "NOMAD_CLIENT_CERT", "NOMAD_CLIENT_KEY", "NOMAD_TOKEN",
		"CONSUL_CACERT", "CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY", "CONSUL_HTTP_TOKEN"} {
		if env[k] == "" {
			t.Fatalf("Env() has no %s: %v", k, c.Env())
		}
	}
	if env["CONSUL_HTTP_SSL"] != "true" || !strings.HasPrefix(env["NOMAD_ADDR"], "https://") || !strings.HasPrefix(env["CONSUL_HTTP_ADDR"], "https://") {
		t.Fatalf("Env() does not point at https: %v", c.Env())
	}
	if fi, err := os.Stat(c.Root() + "/sandbox.json"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file holds tokens; want mode 0600, got %v (%v)", fi.Mode().Perm(), err)
	}
	nomadHost := strings.TrimPrefix(env["NOMAD_ADDR"], "https://")

	t.Run("plain HTTP refused", func(t *testing.T) {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + nomadHost + "/v1/nodes")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("Nomad answered plain HTTP with 200")
			}
		}
	})
	t.Run("no client certificate refused", func(t *testing.T) {
		pem, err := os.ReadFile(env["NOMAD_CACERT"])
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := hc.Get(env["NOMAD_ADDR"] + "/v1/nodes")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("HTTPS without a client certificate got %s, want a TLS failure", resp.Status)
		}
	})

	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Run("nomad from env", func(t *testing.T) {
		cl, err := api.NewClient(api.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		nodes, _, err := cl.Nodes().List(nil)
		if err != nil || len(nodes) != 1 {
			t.Fatalf("node list with the env's token: %d nodes, %v", len(nodes), err)
		}
		anon := api.DefaultConfig()
		anon.SecretID = ""
		cl, err = api.NewClient(anon)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := cl.Nodes().List(nil); err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("node list without a token: err = %v, want 403", err)
		}
	})
	t.Run("consul from env", func(t *testing.T) {
		cl, err := consul.NewClient(consul.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		nodes, _, err := cl.Catalog().Nodes(nil)
		if err != nil || len(nodes) == 0 {
			t.Fatalf("catalog nodes with the env's token: %d nodes, %v", len(nodes), err)
		}
		// The Nomad agents register their services with their own token.
		svcs, _, err := cl.Catalog().Services(nil)
		if err != nil || svcs["nomad"] == nil || svcs["nomad-client"] == nil {
			t.Fatalf("catalog services: %v, %v; want nomad and nomad-client registered by Nomad", svcs, err)
		}
		// NewClient fills an empty Token from the environment.
		t.Setenv("CONSUL_HTTP_TOKEN", "")
		cl, err = consul.NewClient(consul.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		// Default deny filters catalog reads to nothing, and refuses
		// operator reads outright.
		if nodes, _, err := cl.Catalog().Nodes(nil); err != nil || len(nodes) != 0 {
			t.Fatalf("catalog nodes without a token: %d nodes, %v; want none", len(nodes), err)
		}
		if _, err := cl.Operator().RaftGetConfiguration(nil); err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("raft configuration without a token: err = %v, want 403", err)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Run("operations", func(t *testing.T) {
		steps := []struct {
			name string
			do   func() error
		}{
			{"stop s1", func() error { return c.StopServer(ctx, "s1") }},
			{"start s1", func() error { return c.StartServer(ctx, "s1", "") }},
			{"kill s2", func() error { return c.KillServer(ctx, "s2") }},
			{"start s2", func() error { return c.StartServer(ctx, "s2", "") }},
			{"add s4", func() error { return c.AddServer(ctx, sandbox.ServerSpec{Name: "s4", ConsulAgent: true}) }},
			{"add c2", func() error { return c.AddClient(ctx, sandbox.ClientSpec{Name: "c2", ConsulAgent: true}) }},
			{"remove s4", func() error { return c.RemoveServer(ctx, "s4") }},
			{"remove c2", func() error { return c.RemoveClient(ctx, "c2") }},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if _, err := c.WaitHealthy(ctx, 1); err != nil {
			t.Fatal(err)
		}
		st := c.Status()
		if len(st.Problems) > 0 || len(st.Servers) != 3 || len(st.Clients) != 1 {
			t.Fatalf("status after the operations: %d servers, %d clients, problems %v", len(st.Servers), len(st.Clients), st.Problems)
		}
	})

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if left := c.Processes(); len(left) > 0 {
		t.Fatalf("processes left after Stop: %v", left)
	}
}
