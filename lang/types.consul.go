package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var consulSchema = bodySchema{Attrs: []attrSchema{
	{Name: "address"}, {Name: "scheme"}, {Name: "datacenter"},
	{Name: "ca_cert"}, {Name: "client_cert"}, {Name: "client_key"},
	{Name: "tls_server_name"}, {Name: "tls_skip_verify"},
	{Name: "token", Hidden: true}, {Name: "http_token", Hidden: true},
}}

// decodeConsul decodes the optional `consul {}` block.
func decodeConsul(b *hclsyntax.Block) (*ConsulConfig, hcl.Diagnostics) {
	n := &ConsulConfig{DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), consulSchema, "the consul block", n.DeclRange)
	diags = append(diags, tokenDiags(c, "CONSUL_HTTP_TOKEN", "token", "http_token")...)
	get := func(name string) hcl.Expression {
		if a := c.Attrs[name]; a != nil {
			return a.Expr
		}
		return nil
	}
	n.Address = get("address")
	n.Scheme = get("scheme")
	n.Datacenter = get("datacenter")
	n.CACert = get("ca_cert")
	n.ClientCert = get("client_cert")
	n.ClientKey = get("client_key")
	n.TLSServerName = get("tls_server_name")
	n.TLSSkipVerify = get("tls_skip_verify")
	return n, diags
}
