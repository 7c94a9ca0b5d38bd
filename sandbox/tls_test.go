package sandbox

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
)

// TestSecureCerts checks the names each certificate is verified under:
// the ones Nomad and Consul check with verify_server_hostname, and the
// loopback address every agent is dialled at.
func TestSecureCerts(t *testing.T) {
	dir := t.TempDir()
	if err := writeCerts(dir, "global", "dc1"); err != nil {
		t.Fatal(err)
	}
	pool, err := caPool(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]string{
		certNomadServer:  {"server.global.nomad", "localhost", "127.0.0.1"},
		certNomadClient:  {"client.global.nomad", "127.0.0.1"},
		certConsulServer: {"server.dc1.consul", "127.0.0.1"},
		certConsulClient: {"client.dc1.consul"},
		certCLI:          {"cli.global.nomad"},
	}
	for role, names := range tests {
		t.Run(role, func(t *testing.T) {
			data, err := os.ReadFile(certFile(dir, role))
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(data)
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
					if _, err := cert.Verify(x509.VerifyOptions{DNSName: n, Roots: pool, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
						t.Errorf("%s as %s: %v", role, n, err)
					}
				}
			}
			fi, err := os.Stat(keyFile(dir, role))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("key of %s: mode %v, %v; want 0600", role, fi.Mode().Perm(), err)
			}
			if _, err := tls.LoadX509KeyPair(certFile(dir, role), keyFile(dir, role)); err != nil {
				t.Error(err)
			}
		})
	}
	if _, err := os.Stat(dir + "/ca-key.pem"); err == nil {
		t.Error("the CA's key is kept; no certificate is issued after Start")
	}
}

// TestSecureConfig checks that a secure sandbox's agent configs name the
// settings the live test relies on, and a plain one names none of them.
func TestSecureConfig(t *testing.T) {
	sec := &Secrets{TLSDir: "/r/tls", NomadToken: "n", ConsulToken: "cm", ConsulAgentToken: "ca", NomadConsulToken: "nc"}
	srv := &Agent{Kind: NomadServer, Name: "s1", Dir: "/r/servers/s1", Ports: Ports{HTTP: 1, RPC: 2, Serf: 3}}
	st := &state{Region: "global", Datacenter: "dc1", Secure: sec}
	got := nomadConfig(srv, st, []*Agent{srv}, "127.0.0.1:9")
	for _, want := range []string{"verify_server_hostname = true", "verify_https_client = true", `nomad-server.pem"`, "acl {\n  enabled = true", "ssl = true", `token = "nc"`, `consul-client.pem"`} {
		if !strings.Contains(got, want) {
			t.Errorf("secure Nomad server config lacks %q:\n%s", want, got)
		}
	}
	st.Secure = nil
	if plain := nomadConfig(srv, st, []*Agent{srv}, "127.0.0.1:9"); strings.Contains(plain, "tls") || strings.Contains(plain, "acl") {
		t.Errorf("plain config names TLS or ACLs:\n%s", plain)
	}
	cs := &Agent{Kind: ConsulServer, Name: "consul1", Ports: Ports{HTTP: 8501}}
	got = consulSecureConfig(cs, sec)
	for _, want := range []string{"https = 8501", "http = -1", "verify_incoming = true", "verify_server_hostname = true", `default_policy = "deny"`, `initial_management = "cm"`, `agent = "ca"`, "consul-server.pem"} {
		if !strings.Contains(got, want) {
			t.Errorf("secure Consul server config lacks %q:\n%s", want, got)
		}
	}
	cc := &Agent{Kind: ConsulClient, Name: "c1", Ports: Ports{HTTP: 8502}}
	if got := consulSecureConfig(cc, sec); strings.Contains(got, "initial_management") || !strings.Contains(got, "consul-client.pem") {
		t.Errorf("a Consul client agent's config:\n%s", got)
	}
	if args := strings.Join(consulArgs(cs, nil, "dc1", true, 0), " "); strings.Contains(args, "-http-port") {
		t.Errorf("secure Consul server args set an HTTP port: %s", args)
	}
}
