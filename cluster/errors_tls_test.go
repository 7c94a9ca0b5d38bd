package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// TestTLSErrors: each TLS failure becomes a diagnostic that names the
// environment variable and the runbook setting to change. The errors are
// built the way the HTTP stack wraps them (url.Error around the TLS
// error, net.OpError around an alert from the agent).
func TestTLSErrors(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://10.0.0.1:4646/v1/status/leader", Err: err}
	}
	alert := func(text string) error {
		return wrap(&net.OpError{Op: "remote error", Err: errors.New("tls: " + text)})
	}
	cert := &x509.Certificate{NotAfter: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), DNSNames: []string{"server.global.nomad"}}
	cases := map[string]struct {
		system, op string
		err        error
		cause      TLSCause
		summary    string
		detail     []string
	}{
		"unknown CA": {
			system: "nomad", err: wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{Cert: cert}}),
			cause: TLSUnknownCA, summary: "Nomad's certificate is not signed by a trusted CA",
			detail: []string{"Set NOMAD_CACERT (or ca_cert in the runbook's nomad block)"},
		},
		"unknown CA consul": {
			system: "consul", err: wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{Cert: cert}}),
			cause: TLSUnknownCA, summary: "Consul's certificate is not signed by a trusted CA",
			detail: []string{"Set CONSUL_CACERT (or ca_cert in the runbook's consul block)"},
		},
		"hostname": {
			system: "nomad", err: wrap(&tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: cert, Host: "10.0.0.1"}}),
			cause: TLSHostname, summary: "Nomad's certificate does not match the host",
			detail: []string{"Set NOMAD_TLS_SERVER_NAME (or tls_server_name in the runbook's nomad block)", "server.<region>.nomad"},
		},
		"hostname consul": {
			system: "consul", err: wrap(x509.HostnameError{Certificate: cert, Host: "10.0.0.1"}),
			cause: TLSHostname, summary: "Consul's certificate does not match the host",
			detail: []string{"Set CONSUL_TLS_SERVER_NAME (or tls_server_name in the runbook's consul block)"},
		},
		"agent certificate expired": {
			system: "nomad", err: wrap(&tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired}}),
			cause: TLSServerExpired, summary: "Nomad's certificate has expired",
			detail: []string{"Renew the agents' certificates"},
		},
		"client certificate from another CA": {
			system: "nomad", err: alert("unknown certificate authority"),
			cause: TLSClientCert, summary: "Nomad refused the client certificate",
			detail: []string{"Set NOMAD_CLIENT_CERT (or client_cert in the runbook's nomad block) and NOMAD_CLIENT_KEY (or client_key"},
		},
		"no client certificate (TLS 1.3)": {
			system: "consul", err: alert("certificate required"),
			cause: TLSClientCert, summary: "Consul refused the client certificate",
			detail: []string{"Set CONSUL_CLIENT_CERT (or client_cert in the runbook's consul block) and CONSUL_CLIENT_KEY"},
		},
		"no client certificate (TLS 1.2)": {
			system: "nomad", err: alert("bad certificate"),
			cause: TLSClientCert, summary: "Nomad refused the client certificate",
			detail: []string{"NOMAD_CLIENT_CERT"},
		},
		"client certificate expired": {
			system: "nomad", err: alert("expired certificate"),
			cause: TLSClientExpired, summary: "Nomad refused the expired client certificate",
			detail: []string{"Renew it, and set NOMAD_CLIENT_CERT"},
		},
		"https to plain HTTP": {
			system: "nomad", err: wrap(errors.New("http: server gave HTTP response to HTTPS client")),
			cause: TLSNotTLS, summary: "Nomad does not speak HTTPS",
			detail: []string{"http:// address in NOMAD_ADDR"},
		},
		"https to plain HTTP consul": {
			system: "consul", err: wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}),
			cause: TLSNotTLS, summary: "Consul does not speak HTTPS",
			detail: []string{"unset CONSUL_HTTP_SSL"},
		},
		"plain HTTP to a TLS port": {
			system: "nomad", err: fmt.Errorf("Unexpected response code: 400 (Client sent an HTTP request to an HTTPS server.)"),
			cause: TLSNeedsTLS, summary: "Nomad requires HTTPS",
			detail: []string{"https:// address in NOMAD_ADDR", "NOMAD_CACERT, NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY"},
		},
		"plain HTTP to a TLS port consul": {
			system: "consul", err: consul.StatusError{Code: 400, Body: "Client sent an HTTP request to an HTTPS server."},
			cause: TLSNeedsTLS, summary: "Consul requires HTTPS",
			detail: []string{"Set CONSUL_HTTP_SSL=true"},
		},
		"unreadable CA file": {
			system: "nomad", op: "configure the client", err: errors.New("failed to configure TLS: open /nope/ca.pem: no such file or directory"),
			cause: TLSFiles, summary: "Cannot load the TLS files for Nomad",
			detail: []string{"NOMAD_CACERT, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME (or ca_cert, client_cert and client_key in the runbook's nomad block)"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			op := tc.op
			if op == "" {
				op = "read the Raft configuration"
			}
			e := newError(tc.system, "https://10.0.0.1:4646", FromEnv, op, "tok-secret", tc.err)
			if e.Problem != ProblemTLS || e.TLS != tc.cause {
				t.Fatalf("problem %q cause %q, want tls %q (%v)", e.Problem, e.TLS, tc.cause, tc.err)
			}
			diags := Diagnostics(e)
			if len(diags) != 1 || diags[0].Subject != nil {
				t.Fatalf("want one sourceless diagnostic, got %v", diags)
			}
			d := diags[0]
			if d.Summary != tc.summary {
				t.Errorf("summary %q, want %q", d.Summary, tc.summary)
			}
			for _, want := range tc.detail {
				if !strings.Contains(d.Detail, want) {
					t.Errorf("detail lacks %q:\n%s", want, d.Detail)
				}
			}
		})
	}

	// A 400 for another reason stays an unexpected answer.
	if e := newError("nomad", "http://x", FromEnv, "read", "", errors.New("Unexpected response code: 400 (bad request)")); e.Problem == ProblemTLS {
		t.Errorf("a plain 400 was taken for TLS: %v", e)
	}
	// A bad address at client construction is not a TLS problem.
	if e := newError("nomad", "http://x", FromEnv, "configure the client", "", errors.New("invalid address '::': missing protocol scheme")); e.Problem == ProblemTLS {
		t.Errorf("a bad address was taken for TLS: %v", e)
	}
}
