package cluster

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostic turns the error into a sourceless diagnostic: a cluster
// problem is about the environment, not a line of the runbook.
func (e *Error) Diagnostic() *hcl.Diagnostic {
	name := "Nomad"
	if e.System == "consul" {
		name = "Consul"
	}
	var summary string
	switch e.Problem {
	case ProblemTLS:
		switch e.TLS {
		case TLSUnknownCA:
			summary = name + "'s certificate is not signed by a trusted CA"
		case TLSHostname:
			summary = name + "'s certificate does not match the host"
		case TLSServerExpired:
			summary = name + "'s certificate has expired"
		case TLSClientCert:
			summary = name + " refused the client certificate"
		case TLSClientExpired:
			summary = name + " refused the expired client certificate"
		case TLSNotTLS:
			summary = name + " does not speak HTTPS"
		case TLSNeedsTLS:
			summary = name + " requires HTTPS"
		case TLSFiles:
			summary = "Cannot load the TLS files for " + name
		default:
			summary = "TLS handshake with " + name + " failed"
		}
	case ProblemPermission:
		if e.TokenSet {
			summary = name + " refused the token"
		} else {
			summary = name + " requires a token"
		}
	case ProblemResponse:
		summary = "Unexpected answer from " + name
	case ProblemCanceled:
		summary = "Request to " + name + " cancelled"
	default:
		summary = "Cannot reach " + name
	}
	detail := fmt.Sprintf("nrun could not %s: %s.", e.Op, strings.TrimSuffix(e.Detail, "."))
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail + " " + e.Hint()}
}

// Diagnostics converts an error from this package (possibly several joined
// by Snapshot) into diagnostics, one per *Error; any other error becomes one
// generic diagnostic so nothing is dropped.
func Diagnostics(err error) hcl.Diagnostics {
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var diags hcl.Diagnostics
	for _, err := range errs {
		if err == nil {
			continue
		}
		var e *Error
		if errors.As(err, &e) {
			diags = append(diags, e.Diagnostic())
			continue
		}
		var u *UnnamedError
		if errors.As(err, &u) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "A Raft server has no name", Detail: "In " + u.Error() + "."})
			continue
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cluster read failed", Detail: err.Error()})
	}
	return diags
}
