package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Arguments of the nomad block. token is in the schema only so that it
// gets its own error instead of "Unsupported argument".
var nomadSchema = bodySchema{Attrs: []attrSchema{
	{Name: "address"}, {Name: "region"}, {Name: "namespace"},
	{Name: "ca_cert"}, {Name: "client_cert"}, {Name: "client_key"},
	{Name: "tls_server_name"}, {Name: "tls_skip_verify"},
	{Name: "token", Hidden: true}, {Name: "secret_id", Hidden: true},
}}

// decodeNomad decodes the optional `nomad {}` block.
func decodeNomad(b *hclsyntax.Block) (*NomadConfig, hcl.Diagnostics) {
	n := &NomadConfig{DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), nomadSchema, "the nomad block", n.DeclRange)
	diags = append(diags, tokenDiags(c, "NOMAD_TOKEN", "token", "secret_id")...)
	get := func(name string) hcl.Expression {
		if a := c.Attrs[name]; a != nil {
			return a.Expr
		}
		return nil
	}
	n.Address = get("address")
	n.Region = get("region")
	n.Namespace = get("namespace")
	n.CACert = get("ca_cert")
	n.ClientCert = get("client_cert")
	n.ClientKey = get("client_key")
	n.TLSServerName = get("tls_server_name")
	n.TLSSkipVerify = get("tls_skip_verify")
	return n, diags
}

// tokenDiags refuses secrets in runbooks: runbooks are committed and
// shown in plans, tokens must come from the environment.
func tokenDiags(c bodyContent, env string, names ...string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range names {
		if a := c.Attrs[name]; a != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Token not allowed in runbook",
				Detail:   fmt.Sprintf("Runbooks are committed to version control and printed in plans, so they must not hold secrets. Remove %s and set the %s environment variable instead.", name, env),
				Subject:  a.NameRange.Ptr(),
				Context:  a.Range.Ptr(),
			})
		}
	}
	return diags
}
