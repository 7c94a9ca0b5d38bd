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
}

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
		return where + fmt.Sprintf(" The TLS handshake failed. Check that the address uses https when the agent has TLS enabled (and http when not), and that %s point at the cluster's CA and client certificate.", tlsVars)
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
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
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
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recordErr):
		e.Problem = ProblemTLS
		return e
	}
	switch {
	case e.Status == 401 || e.Status == 403:
		e.Problem = ProblemPermission
	case e.Status != 0:
		e.Problem = ProblemResponse
	case strings.Contains(detail, "Permission denied"), strings.Contains(detail, "ACL not found"):
		e.Problem = ProblemPermission
	case strings.Contains(detail, "server gave HTTP response to HTTPS client"),
		strings.Contains(detail, "tls: "), strings.Contains(detail, "x509: "):
		e.Problem = ProblemTLS
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
