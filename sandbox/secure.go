package sandbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Secrets are what a secure sandbox (Spec.Secure) adds to the state file:
// where its certificates are and the tokens nrun chose. They are secrets of
// a local test cluster; the state file is mode 0600, and only `nrun
// sandbox env` prints them.
type Secrets struct {
	// TLSDir holds ca.pem and the certificates of each role (see
	// writeCerts).
	TLSDir string `json:"tls_dir"`
	// NomadToken is Nomad's management token, the secret nrun bootstraps
	// Nomad's ACLs with.
	NomadToken string `json:"nomad_token"`
	// ConsulToken is Consul's initial management token, set in the Consul
	// servers' config.
	ConsulToken string `json:"consul_token"`
	// ConsulAgentToken is every Consul agent's own token (register its
	// node, read services).
	ConsulAgentToken string `json:"consul_agent_token"`
	// NomadConsulToken is the token in Nomad's consul block: it registers
	// the Nomad agents' services in Consul.
	NomadConsulToken string `json:"nomad_consul_token"`
}

func newSecrets(root string) *Secrets {
	return &Secrets{TLSDir: tlsDir(root), NomadToken: newUUID(), ConsulToken: newUUID(),
		ConsulAgentToken: newUUID(), NomadConsulToken: newUUID()}
}

// Secure reports whether the sandbox runs with mutual TLS and ACLs.
func (c *Cluster) Secure() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Secure != nil
}

// scheme is the scheme of every agent's HTTP API.
func (c *Cluster) scheme() string {
	if c.st.Secure != nil {
		return "https"
	}
	return "http"
}

// tlsConfig is the client TLS configuration nrun uses towards the agents,
// nil in a plain sandbox. It is read once per Cluster; the certificates do
// not change after Start.
func (c *Cluster) tlsConfig() (*tls.Config, error) {
	c.tlsMu.Lock()
	defer c.tlsMu.Unlock()
	if c.st.Secure == nil {
		return nil, nil
	}
	if c.tls == nil {
		cfg, err := clientTLS(c.st.Secure.TLSDir)
		if err != nil {
			return nil, err
		}
		c.tls = cfg
	}
	return c.tls, nil
}

// httpc is the HTTP client for the agents: plain, or with the CLI
// certificate in a secure sandbox.
func (c *Cluster) httpc() (*http.Client, error) {
	cfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return httpClient, nil
	}
	c.tlsMu.Lock()
	defer c.tlsMu.Unlock()
	if c.tlsHTTP == nil {
		c.tlsHTTP = &http.Client{Timeout: httpClient.Timeout, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	return c.tlsHTTP, nil
}

// ServerTLS is the TLS configuration of a listener that stands in for a
// Nomad server of a secure sandbox (`nrun sandbox balance`): the server
// certificate, a client certificate from the sandbox's CA required. It is
// nil for a plain sandbox.
func (c *Cluster) ServerTLS() (*tls.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Secure == nil {
		return nil, nil
	}
	return serverTLS(c.st.Secure.TLSDir)
}

// nomadToken and consulToken are the management tokens, "" in a plain
// sandbox.
func (c *Cluster) nomadToken() string {
	if c.st.Secure == nil {
		return ""
	}
	return c.st.Secure.NomadToken
}

func (c *Cluster) consulToken() string {
	if c.st.Secure == nil {
		return ""
	}
	return c.st.Secure.ConsulToken
}

// consulDo sends one request to a Consul agent's HTTP API with the
// management token and decodes a 200 answer into out (unless nil).
func (c *Cluster) consulDo(method string, a *Agent, path string, body, out any) error {
	hc, err := c.httpc()
	if err != nil {
		return err
	}
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.scheme()+"://"+a.HTTPAddr()+path, r)
	if err != nil {
		return err
	}
	if t := c.consulToken(); t != "" {
		req.Header.Set("X-Consul-Token", t)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// nomadSecureConfig is the part of a Nomad agent's config that a secure
// sandbox adds: mutual TLS on HTTP and RPC with the role's certificate,
// and ACLs.
func nomadSecureConfig(a *Agent, sec *Secrets) string {
	role := certNomadClient
	if a.Kind == NomadServer {
		role = certNomadServer
	}
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "tls {\n  http = true\n  rpc = true\n  ca_file = %s\n  cert_file = %s\n  key_file = %s\n", q(caFile(sec.TLSDir)), q(certFile(sec.TLSDir, role)), q(keyFile(sec.TLSDir, role)))
	b.WriteString("  verify_server_hostname = true\n  verify_https_client = true\n}\n")
	b.WriteString("acl {\n  enabled = true\n}\n")
	return b.String()
}

// nomadConsulSecure is the inside of a Nomad agent's consul block in a
// secure sandbox: HTTPS with a client certificate, and the token that lets
// it register its services.
func nomadConsulSecure(sec *Secrets) string {
	q := strconv.Quote
	return fmt.Sprintf("  ssl = true\n  verify_ssl = true\n  ca_file = %s\n  cert_file = %s\n  key_file = %s\n  token = %s\n",
		q(caFile(sec.TLSDir)), q(certFile(sec.TLSDir, certConsulClient)), q(keyFile(sec.TLSDir, certConsulClient)), q(sec.NomadConsulToken))
}

// consulSecureConfig is the config file of a Consul agent in a secure
// sandbox: HTTPS only (on the port plain mode gives HTTP), mutual TLS on
// every listener with verify_server_hostname on internal RPC, and ACLs
// with default deny. Servers carry the initial management token, so there
// is no bootstrap call; every agent carries its agent token, which
// setupConsulACL creates once Consul has a leader.
func consulSecureConfig(a *Agent, sec *Secrets) string {
	role := certConsulClient
	if a.Kind == ConsulServer {
		role = certConsulServer
	}
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "ports {\n  http = -1\n  https = %d\n}\n", a.Ports.HTTP)
	fmt.Fprintf(&b, "tls {\n  defaults {\n    ca_file = %s\n    cert_file = %s\n    key_file = %s\n    verify_incoming = true\n    verify_outgoing = true\n  }\n",
		q(caFile(sec.TLSDir)), q(certFile(sec.TLSDir, role)), q(keyFile(sec.TLSDir, role)))
	b.WriteString("  internal_rpc {\n    verify_server_hostname = true\n  }\n}\n")
	b.WriteString("acl {\n  enabled = true\n  default_policy = \"deny\"\n  down_policy = \"extend-cache\"\n  tokens {\n")
	if a.Kind == ConsulServer {
		fmt.Fprintf(&b, "    initial_management = %s\n", q(sec.ConsulToken))
	}
	fmt.Fprintf(&b, "    agent = %s\n  }\n}\n", q(sec.ConsulAgentToken))
	return b.String()
}

// writeConsulSecure writes the agent's secure config file (mode 0600: it
// holds tokens) and returns the arguments that load it.
func writeConsulSecure(a *Agent, sec *Secrets) ([]string, error) {
	path := filepath.Join(a.Dir, "secure.hcl")
	if err := os.WriteFile(path, []byte(consulSecureConfig(a, sec)), 0o600); err != nil {
		return nil, err
	}
	return []string{"-config-file=" + path}, nil
}

// The Consul policies of the agents' own tokens.
const (
	consulAgentPolicy = `node_prefix "" { policy = "write" }
service_prefix "" { policy = "read" }`
	nomadConsulPolicy = `service_prefix "" { policy = "write" }
node_prefix "" { policy = "read" }
agent_prefix "" { policy = "read" }
key_prefix "" { policy = "read" }`
)

// setupConsulACL creates the Consul agent token and Nomad's Consul token,
// with their policies, under the secrets nrun chose. Consul's ACL system
// becomes usable a moment after the leader is elected, so it retries until
// then. What already exists is left as it is.
func (c *Cluster) setupConsulACL(ctx context.Context) error {
	sec := c.st.Secure
	tokens := []struct{ policy, rules, secret, desc string }{
		{"nrun-consul-agent", consulAgentPolicy, sec.ConsulAgentToken, "Consul agents of the nrun sandbox"},
		{"nrun-nomad", nomadConsulPolicy, sec.NomadConsulToken, "Nomad agents of the nrun sandbox"},
	}
	return c.waitFor(ctx, "Consul ACL tokens", func() (bool, string) {
		srv := c.firstRunningLive(ConsulServer)
		if srv == nil {
			return false, "no Consul server is running"
		}
		for _, t := range tokens {
			var existing struct{ ID string }
			if err := c.consulDo(http.MethodGet, srv, "/v1/acl/policy/name/"+url.PathEscape(t.policy), nil, &existing); err != nil {
				if err := c.consulDo(http.MethodPut, srv, "/v1/acl/policy", map[string]string{"Name": t.policy, "Rules": t.rules}, nil); err != nil {
					return false, err.Error()
				}
			}
			var tok struct{ SecretID string }
			if err := c.consulTokenSelf(srv, t.secret, &tok); err == nil {
				continue
			}
			body := map[string]any{"SecretID": t.secret, "Description": t.desc, "Policies": []map[string]string{{"Name": t.policy}}}
			if err := c.consulDo(http.MethodPut, srv, "/v1/acl/token", body, nil); err != nil {
				return false, err.Error()
			}
		}
		return true, ""
	})
}

// consulTokenSelf reads a token with itself as the credential: it fails
// when the token does not exist.
func (c *Cluster) consulTokenSelf(a *Agent, secret string, out any) error {
	hc, err := c.httpc()
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodGet, c.scheme()+"://"+a.HTTPAddr()+"/v1/acl/token/self", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Consul-Token", secret)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token self: %s", resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// bootstrapNomadACL bootstraps Nomad's ACLs with the management token nrun
// chose (saved in the state before the call, so a crash cannot lose it).
// A cluster already bootstrapped is fine when the token works.
func (c *Cluster) bootstrapNomadACL(ctx context.Context) error {
	err := c.waitFor(ctx, "Nomad ACL bootstrap", func() (bool, string) {
		a := c.firstRunningLive(NomadServer)
		if a == nil {
			return false, "no Nomad server is running"
		}
		cl, err := c.nomadAPI(a)
		if err != nil {
			return false, err.Error()
		}
		if _, _, err := cl.ACLTokens().Self(nil); err != nil {
			if _, _, err := cl.ACLTokens().BootstrapOpts(c.nomadToken(), nil); err != nil {
				return false, "bootstrap: " + err.Error()
			}
		}
		// The token reaches the followers through Raft; until a server
		// has applied it, what that server answers itself (gossip
		// members) is refused with 403.
		for _, s := range c.agents(NomadServer) {
			if !c.running(s) {
				continue
			}
			scl, err := c.nomadAPI(s)
			if err != nil {
				return false, err.Error()
			}
			if _, err := scl.Agent().Members(); err != nil {
				return false, fmt.Sprintf("the management token is not yet known to %s: %v", s.Name, err)
			}
		}
		return true, ""
	})
	return err
}

// secureEnv is what Env adds for a secure sandbox.
func (c *Cluster) secureEnv(nomad, consul *Agent) []string {
	sec := c.st.Secure
	cli, key := certFile(sec.TLSDir, certCLI), keyFile(sec.TLSDir, certCLI)
	env := []string{
		"NOMAD_CACERT=" + caFile(sec.TLSDir), "NOMAD_CLIENT_CERT=" + cli, "NOMAD_CLIENT_KEY=" + key,
		"NOMAD_TOKEN=" + sec.NomadToken,
	}
	if consul != nil {
		env = append(env, "CONSUL_CACERT="+caFile(sec.TLSDir), "CONSUL_CLIENT_CERT="+cli, "CONSUL_CLIENT_KEY="+key,
			"CONSUL_HTTP_TOKEN="+sec.ConsulToken, "CONSUL_HTTP_SSL=true")
	}
	return env
}
