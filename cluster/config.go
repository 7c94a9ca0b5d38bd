package cluster

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Secret is a token held in memory. It formats, marshals and logs as
// "<redacted>" (or "" when empty) under every fmt verb, json and slog, so a
// Config or Client can be printed or dumped without leaking it. Reveal is the
// only way to read it, and only the HTTP layer calls it.
type Secret string

const redacted = "<redacted>"

// Reveal returns the secret itself. Call it only to hand the token to an API
// client.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return strconv.Quote(s.shown()) }

// Format implements fmt.Formatter. Implementing it (not only String) matters:
// without it, verbs such as %x or %d print the underlying string.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.shown())
}

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.shown())), nil }

// MarshalText implements encoding.TextMarshaler (map keys, yaml, some loggers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// Where a resolved address came from, for error messages that tell the
// operator what to change.
const (
	FromRunbook = "runbook"
	FromEnv     = "environment"
	FromDefault = "default"
)

// Default addresses, the same ones the nomad and consul CLIs use.
const (
	DefaultNomadAddress  = "http://127.0.0.1:4646"
	DefaultConsulAddress = "127.0.0.1:8500"
)

// Config says how to reach Nomad and Consul. Explicit values (from the
// runbook's nomad {} and consul {} blocks) win; Resolve fills the rest from
// the standard environment variables. Tokens never come from a runbook.
type Config struct {
	NomadAddress       string `json:"nomad_address,omitempty"`
	NomadRegion        string `json:"nomad_region,omitempty"`
	NomadNamespace     string `json:"nomad_namespace,omitempty"`
	NomadToken         Secret `json:"nomad_token,omitempty"`
	NomadCACert        string `json:"nomad_ca_cert,omitempty"`
	NomadClientCert    string `json:"nomad_client_cert,omitempty"`
	NomadClientKey     string `json:"nomad_client_key,omitempty"`
	NomadTLSServerName string `json:"nomad_tls_server_name,omitempty"`
	NomadSkipVerify    bool   `json:"nomad_skip_verify,omitempty"`

	// ConsulAddress is host:port or scheme://host:port.
	ConsulAddress       string `json:"consul_address,omitempty"`
	ConsulScheme        string `json:"consul_scheme,omitempty"`
	ConsulDatacenter    string `json:"consul_datacenter,omitempty"`
	ConsulToken         Secret `json:"consul_token,omitempty"`
	ConsulCACert        string `json:"consul_ca_cert,omitempty"`
	ConsulClientCert    string `json:"consul_client_cert,omitempty"`
	ConsulClientKey     string `json:"consul_client_key,omitempty"`
	ConsulTLSServerName string `json:"consul_tls_server_name,omitempty"`
	ConsulSkipVerify    bool   `json:"consul_skip_verify,omitempty"`

	// NomadAddressFrom and ConsulAddressFrom record where the address came
	// from (FromRunbook, FromEnv, FromDefault); Resolve sets them.
	NomadAddressFrom  string `json:"nomad_address_from,omitempty"`
	ConsulAddressFrom string `json:"consul_address_from,omitempty"`
}

// Resolve returns a copy of c with every empty field filled from getenv
// (os.Getenv when nil), then defaults. It reads NOMAD_ADDR, NOMAD_TOKEN,
// NOMAD_REGION, NOMAD_NAMESPACE, NOMAD_CACERT, NOMAD_CLIENT_CERT,
// NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME, NOMAD_SKIP_VERIFY,
// CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_SSL, CONSUL_DATACENTER
// (not a consul CLI variable, but harmless), CONSUL_CACERT,
// CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME and
// CONSUL_HTTP_SSL_VERIFY.
func (c Config) Resolve(getenv func(string) string) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	fill := func(dst *string, env string) {
		if *dst == "" {
			*dst = strings.TrimSpace(getenv(env))
		}
	}

	c.NomadAddressFrom = FromRunbook
	if c.NomadAddress == "" {
		c.NomadAddress, c.NomadAddressFrom = strings.TrimSpace(getenv("NOMAD_ADDR")), FromEnv
	}
	if c.NomadAddress == "" {
		c.NomadAddress, c.NomadAddressFrom = DefaultNomadAddress, FromDefault
	}
	if !strings.Contains(c.NomadAddress, "://") {
		// NOMAD_ADDR=10.0.0.1:4646 is a common slip; the Go client would
		// parse the host as a URL scheme.
		c.NomadAddress = "http://" + c.NomadAddress
	}
	fill(&c.NomadRegion, "NOMAD_REGION")
	fill(&c.NomadNamespace, "NOMAD_NAMESPACE")
	if c.NomadToken == "" {
		c.NomadToken = Secret(strings.TrimSpace(getenv("NOMAD_TOKEN")))
	}
	fill(&c.NomadCACert, "NOMAD_CACERT")
	fill(&c.NomadClientCert, "NOMAD_CLIENT_CERT")
	fill(&c.NomadClientKey, "NOMAD_CLIENT_KEY")
	fill(&c.NomadTLSServerName, "NOMAD_TLS_SERVER_NAME")
	if !c.NomadSkipVerify {
		c.NomadSkipVerify = envBool(getenv("NOMAD_SKIP_VERIFY"))
	}

	c.ConsulAddressFrom = FromRunbook
	if c.ConsulAddress == "" {
		c.ConsulAddress, c.ConsulAddressFrom = strings.TrimSpace(getenv("CONSUL_HTTP_ADDR")), FromEnv
	}
	if c.ConsulAddress == "" {
		c.ConsulAddress, c.ConsulAddressFrom = DefaultConsulAddress, FromDefault
	}
	if scheme, rest, ok := strings.Cut(c.ConsulAddress, "://"); ok {
		c.ConsulAddress = rest
		if c.ConsulScheme == "" {
			c.ConsulScheme = scheme
		}
	}
	if c.ConsulScheme == "" && envBool(getenv("CONSUL_HTTP_SSL")) {
		c.ConsulScheme = "https"
	}
	if c.ConsulScheme == "" {
		c.ConsulScheme = "http"
	}
	fill(&c.ConsulDatacenter, "CONSUL_DATACENTER")
	if c.ConsulToken == "" {
		c.ConsulToken = Secret(strings.TrimSpace(getenv("CONSUL_HTTP_TOKEN")))
	}
	fill(&c.ConsulCACert, "CONSUL_CACERT")
	fill(&c.ConsulClientCert, "CONSUL_CLIENT_CERT")
	fill(&c.ConsulClientKey, "CONSUL_CLIENT_KEY")
	fill(&c.ConsulTLSServerName, "CONSUL_TLS_SERVER_NAME")
	if !c.ConsulSkipVerify {
		if v := getenv("CONSUL_HTTP_SSL_VERIFY"); v != "" {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			c.ConsulSkipVerify = err == nil && !b
		}
	}
	return c
}

// ConsulURL returns the Consul address with its scheme, for messages.
func (c Config) ConsulURL() string { return c.ConsulScheme + "://" + c.ConsulAddress }

// NomadShown is NomadAddress fit to print or store (ShownAddress).
func (c Config) NomadShown() string { return ShownAddress(c.NomadAddress) }

// ConsulShown is ConsulURL fit to print or store (ShownAddress).
func (c Config) ConsulShown() string { return ShownAddress(c.ConsulURL()) }

// ShownAddress is addr without its userinfo: NOMAD_ADDR may be
// http://user:password@host, and an address is printed in errors and
// saved in inventories and plans, which are shared. The user name goes
// too, because some proxies take a token there. An address that does not
// parse as a URL loses everything up to its last '@' before the host.
func ShownAddress(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		if u.User == nil {
			return addr
		}
		u.User = nil
		return u.String()
	}
	rest := addr
	scheme := ""
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme, rest = rest[:i+3], rest[i+3:]
	}
	host := rest
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		return scheme + rest[i+1:]
	}
	return addr
}

func envBool(v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return err == nil && b
}
