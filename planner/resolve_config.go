package planner

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// ClusterConfig evaluates the runbook's nomad {} and consul {} blocks with
// its variables and locals into a cluster.Config. Fields the blocks leave
// out stay empty, for Config.Resolve to fill from the environment; tokens
// never come from a runbook.
func ClusterConfig(rb *lang.Runbook, inputs map[string]cty.Value) (cview.Config, hcl.Diagnostics) {
	var cfg cview.Config
	if rb == nil || (rb.Nomad == nil && rb.Consul == nil) {
		return cfg, nil
	}
	sc, diags := lang.NewScope(rb, inputs)
	ctx := sc.EvalContext(nil)
	str := func(block string, e hcl.Expression, dst *string) {
		if e == nil {
			return
		}
		v, d := e.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() || v.IsNull() {
			return
		}
		if !v.IsKnown() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Connection setting not known",
				Detail:   fmt.Sprintf("This %s setting depends on a value that has none yet. Give every variable it uses a value with -var or -var-file.", block),
				Subject:  e.Range().Ptr(),
			})
			return
		}
		if v.Type() == cty.String {
			*dst = v.AsString()
		}
	}
	boolean := func(e hcl.Expression, dst *bool) {
		if e == nil {
			return
		}
		v, d := e.Value(ctx)
		diags = append(diags, d...)
		if !d.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type() == cty.Bool {
			*dst = v.True()
		}
	}
	if n := rb.Nomad; n != nil {
		str("nomad", n.Address, &cfg.NomadAddress)
		str("nomad", n.Region, &cfg.NomadRegion)
		str("nomad", n.Namespace, &cfg.NomadNamespace)
		str("nomad", n.CACert, &cfg.NomadCACert)
		str("nomad", n.ClientCert, &cfg.NomadClientCert)
		str("nomad", n.ClientKey, &cfg.NomadClientKey)
		str("nomad", n.TLSServerName, &cfg.NomadTLSServerName)
		boolean(n.TLSSkipVerify, &cfg.NomadSkipVerify)
	}
	if c := rb.Consul; c != nil {
		str("consul", c.Address, &cfg.ConsulAddress)
		str("consul", c.Scheme, &cfg.ConsulScheme)
		str("consul", c.Datacenter, &cfg.ConsulDatacenter)
		str("consul", c.CACert, &cfg.ConsulCACert)
		str("consul", c.ClientCert, &cfg.ConsulClientCert)
		str("consul", c.ClientKey, &cfg.ConsulClientKey)
		str("consul", c.TLSServerName, &cfg.ConsulTLSServerName)
		boolean(c.TLSSkipVerify, &cfg.ConsulSkipVerify)
	}
	return cfg, diags
}
