package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

// Problem classifies why a cluster request failed, so the hint can name the
// one thing most likely to fix it.
type Problem string

// Problems.
const (
	ProblemUnreachable Problem = "unreachable" // connection refused, DNS, timeout
	ProblemTLS         Problem = "tls"         // handshake or certificate failure, or http vs https
	ProblemPermission  Problem = "permission"  // 401/403: missing or weak token
	ProblemResponse    Problem = "response"    // any other unexpected answer
	ProblemCanceled    Problem = "canceled"    // the caller's context ended first
)

// Error is a failed request to Nomad or Consul. It says which cluster and
// address were tried, what was being read and how to fix it; it never holds
// the token. The planner turns it into a sourceless diagnostic: Error() is
// the summary line, Hint() the detail.
type Error struct {
	System  string // "nomad" or "consul"
	Address string // the address tried, with scheme
	From    string // where the address came from: FromRunbook, FromEnv, FromDefault
	Op      string // what was being read, e.g. "read the Raft configuration"
	Problem Problem
	Status  int    // HTTP status, 0 when no answer came back
	Detail  string // the underlying error text, token removed
	// TokenSet says whether a token was configured (not what it was), so
	// the hint can tell "set a token" from "use a token with more rights".
	TokenSet bool
	// TLS says, for ProblemTLS, which side of the handshake failed, so
	// the hint can name the one setting to change.
	TLS TLSCause
}

// TLSCause is what went wrong in a TLS failure.
type TLSCause string

// TLS causes.
const (
	TLSOther         TLSCause = ""               // a handshake failure nrun cannot attribute
	TLSUnknownCA     TLSCause = "unknown-ca"     // the agent's certificate is not signed by the CA nrun trusts
	TLSHostname      TLSCause = "hostname"       // the agent's certificate is not valid for the name nrun checked
	TLSServerExpired TLSCause = "server-expired" // the agent's certificate has expired or is not yet valid
	TLSClientCert    TLSCause = "client-cert"    // the agent refused nrun's client certificate, or its absence
	TLSClientExpired TLSCause = "client-expired" // the agent refused nrun's client certificate as expired
	TLSNotTLS        TLSCause = "not-tls"        // https to an agent that speaks plain HTTP
	TLSNeedsTLS      TLSCause = "needs-tls"      // plain HTTP to an agent that speaks only HTTPS
	TLSFiles         TLSCause = "files"          // the CA or client certificate files cannot be loaded
)

// Error implements error: "nomad at http://10.0.0.1:4646: read the Raft
// configuration: dial tcp ...: connection refused".
func (e *Error) Error() string {
	return fmt.Sprintf("%s at %s: %s: %s", e.System, e.Address, e.Op, e.Detail)
}

// Hint says, in full sentences, what to check.
func (e *Error) Hint() string {
	var addrVar, tokenVar, block, tlsVars string
	if e.System == "consul" {
		addrVar, tokenVar, block = "CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "consul"
		tlsVars = "CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME"
	} else {
		addrVar, tokenVar, block = "NOMAD_ADDR", "NOMAD_TOKEN", "nomad"
		tlsVars = "NOMAD_CACERT, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME"
	}
	var from string
	switch e.From {
	case FromRunbook:
		from = fmt.Sprintf("the runbook's %s block", block)
	case FromEnv:
		from = addrVar
	default:
		from = fmt.Sprintf("the default, because neither the runbook's %s block nor %s sets one", block, addrVar)
	}
	where := fmt.Sprintf("nrun tried %s (from %s).", e.Address, from)
	switch e.Problem {
	case ProblemCanceled:
		return where + " The request was cancelled or ran out of time before the agent answered. If the cluster is slow rather than down, allow a longer timeout."
	case ProblemTLS:
		return where + " " + e.tlsHint(tlsVars)
	case ProblemPermission:
		if !e.TokenSet {
			return where + fmt.Sprintf(" The cluster has ACLs enabled and no token was given. Set %s to a token that may read the operator, agent and node APIs.", tokenVar)
		}
		return where + fmt.Sprintf(" The token in %s was refused. Check that it is valid for this cluster and that its policy grants operator, agent and node read.", tokenVar)
	case ProblemResponse:
		return where + fmt.Sprintf(" The agent answered, but not as expected. Check that the address is a %s agent's HTTP API and that the agent is healthy.", block)
	default:
		return where + fmt.Sprintf(" No agent answered there. Check that the address is right (set it with %s or the runbook's %s block) and that the agent is running and reachable from this machine.", addrVar, block)
	}
}

// tlsHint names what to change for a TLS failure: the environment
// variable and the runbook setting (both, because either may be where the
// value came from).
func (e *Error) tlsHint(tlsVars string) string {
	env := func(nomadVar, consulVar string) string {
		if e.System == "consul" {
			return consulVar
		}
		return nomadVar
	}
	block := env("nomad", "consul")
	setting := func(v, attr string) string {
		return fmt.Sprintf("%s (or %s in the runbook's %s block)", v, attr, block)
	}
	switch e.TLS {
	case TLSUnknownCA:
		return fmt.Sprintf("The agent's certificate is not signed by a CA nrun trusts. Set %s to the PEM file of the CA that signed the cluster's certificates.", setting(env("NOMAD_CACERT", "CONSUL_CACERT"), "ca_cert"))
	case TLSHostname:
		name := "server.<region>.nomad"
		if e.System == "consul" {
			name = "server.<datacenter>.consul"
		}
		return fmt.Sprintf("The agent's certificate is not valid for the host nrun checked. Set %s to a name the certificate holds (for example %s), or use an address whose host is in the certificate.", setting(env("NOMAD_TLS_SERVER_NAME", "CONSUL_TLS_SERVER_NAME"), "tls_server_name"), name)
	case TLSServerExpired:
		return "The agent's certificate has expired or is not yet valid. Renew the agents' certificates, and check this machine's clock."
	case TLSClientCert:
		return fmt.Sprintf("The agent refused nrun's client certificate: it requires one signed by the cluster's CA. Set %s and %s to a certificate and key the cluster's CA signed.", setting(env("NOMAD_CLIENT_CERT", "CONSUL_CLIENT_CERT"), "client_cert"), setting(env("NOMAD_CLIENT_KEY", "CONSUL_CLIENT_KEY"), "client_key"))
	case TLSClientExpired:
		return fmt.Sprintf("The agent refused nrun's client certificate as expired. Renew it, and set %s and %s to the new certificate and key.", setting(env("NOMAD_CLIENT_CERT", "CONSUL_CLIENT_CERT"), "client_cert"), setting(env("NOMAD_CLIENT_KEY", "CONSUL_CLIENT_KEY"), "client_key"))
	case TLSNotTLS:
		if e.System == "consul" {
			return "nrun used https, but the agent answers plain HTTP. Use an http:// address in CONSUL_HTTP_ADDR (or the runbook's consul block), and unset CONSUL_HTTP_SSL or the block's scheme = \"https\"."
		}
		return "nrun used https, but the agent answers plain HTTP. Use an http:// address in NOMAD_ADDR (or address in the runbook's nomad block)."
	case TLSNeedsTLS:
		if e.System == "consul" {
			return "nrun used plain HTTP, but the agent only speaks HTTPS. Set CONSUL_HTTP_SSL=true or use an https:// address in CONSUL_HTTP_ADDR (or scheme = \"https\" in the runbook's consul block), with CONSUL_CACERT, CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY."
		}
		return "nrun used plain HTTP, but the agent only speaks HTTPS. Use an https:// address in NOMAD_ADDR (or address in the runbook's nomad block), with NOMAD_CACERT, NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY."
	case TLSFiles:
		return fmt.Sprintf("nrun could not load the TLS files. Check that %s (or ca_cert, client_cert and client_key in the runbook's %s block) name readable PEM files, and that the key matches the certificate.", tlsVars, block)
	}
	return fmt.Sprintf("The TLS handshake failed. Check that the address uses https when the agent has TLS enabled (and http when not), and that %s point at the cluster's CA and client certificate.", tlsVars)
}

// tlsCause attributes a TLS failure. Errors the agent sends back are TLS
// alerts, which Go only gives as text ("remote error: tls: ...").
func tlsCause(err error, detail string) (TLSCause, bool) {
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &unknownAuth):
		return TLSUnknownCA, true
	case errors.As(err, &hostErr):
		return TLSHostname, true
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return TLSServerExpired, true
		}
		return TLSOther, true
	case strings.Contains(detail, "remote error: tls: expired certificate"):
		return TLSClientExpired, true
	case strings.Contains(detail, "remote error: tls: bad certificate"),
		strings.Contains(detail, "remote error: tls: certificate required"),
		strings.Contains(detail, "remote error: tls: unknown certificate authority"),
		strings.Contains(detail, "remote error: tls: unsupported certificate"):
		return TLSClientCert, true
	case strings.Contains(detail, "server gave HTTP response to HTTPS client"), errors.As(err, &recordErr):
		return TLSNotTLS, true
	case strings.Contains(detail, "Client sent an HTTP request to an HTTPS server"):
		return TLSNeedsTLS, true
	case strings.Contains(detail, "x509: certificate signed by unknown authority"):
		return TLSUnknownCA, true
	case strings.Contains(detail, "x509: certificate is valid for"):
		return TLSHostname, true
	case strings.Contains(detail, "x509: certificate has expired"):
		return TLSServerExpired, true
	case strings.Contains(detail, "tls: "), strings.Contains(detail, "x509: "):
		return TLSOther, true
	}
	return TLSOther, false
}

// newError classifies err and removes the token from its text.
func newError(system, address, from, op string, token Secret, err error) *Error {
	e := &Error{System: system, Address: address, From: from, Op: op, TokenSet: token != "", Problem: ProblemUnreachable}
	detail := err.Error()
	if t := token.Reveal(); t != "" {
		detail = strings.ReplaceAll(detail, t, redacted)
	}
	e.Detail = detail

	var nre nomad.UnexpectedResponseError
	var cse consul.StatusError
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Problem = ProblemCanceled
		return e
	case errors.As(err, &nre):
		e.Status = nre.StatusCode()
	case errors.As(err, &cse):
		e.Status = cse.Code
	}
	if l := strings.ToLower(detail); op == "configure the client" && (strings.Contains(l, "tls") || strings.Contains(l, "cert") || strings.Contains(l, "key") || strings.Contains(l, "pem")) {
		// The API clients load the CA and key pair when they are built;
		// nothing else fails there.
		e.Problem, e.TLS = ProblemTLS, TLSFiles
		return e
	}
	// A TLS listener answers plain HTTP with a 400 that says so.
	if cause, ok := tlsCause(err, detail); ok && (e.Status == 0 || cause == TLSNeedsTLS) {
		e.Problem, e.TLS = ProblemTLS, cause
		return e
	}
	switch {
	case e.Status == 401 || e.Status == 403:
		e.Problem = ProblemPermission
	case e.Status != 0:
		e.Problem = ProblemResponse
	case strings.Contains(detail, "Permission denied"), strings.Contains(detail, "ACL not found"):
		e.Problem = ProblemPermission
	case errors.As(err, &netErr), errors.As(err, &urlErr):
		e.Problem = ProblemUnreachable
	default:
		// Errors that are neither network nor status errors come from
		// decoding an answer that was not what we expected.
		if strings.Contains(detail, "Unexpected response code") || strings.Contains(detail, "decod") {
			e.Problem = ProblemResponse
		}
	}
	return e
}
