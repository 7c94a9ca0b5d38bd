package planner

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

func resolve(rb *lang.Runbook, inputs map[string]cty.Value, view *cview.View, opts ResolveOptions) (*Plan, hcl.Diagnostics) {
	return &Plan{FormatVersion: FormatVersion}, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Resolve is not implemented yet"}}
}
