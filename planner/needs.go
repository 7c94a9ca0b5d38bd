package planner

import "github.com/nrun-dev/nrun/lang"

// NeedsCluster reports whether rb reads or changes a cluster at all: it
// has a nomad or consul block, a data source, a named check (precondition
// or wait) or an action the catalog does not mark Local. A runbook
// that needs none is planned and applied without reading one, so plan and
// apply agree (a saved plan records no cluster fingerprint that apply
// would have to match) and neither needs NOMAD_ADDR. nrun plan and nrun
// apply both decide with this rule.
func NeedsCluster(rb *lang.Runbook) bool {
	if rb == nil {
		return false
	}
	if rb.Nomad != nil || rb.Consul != nil || len(rb.Data) > 0 {
		return true
	}
	for _, st := range rb.AllSteps() {
		for _, c := range st.Preconditions {
			if c.Name != "" {
				return true
			}
		}
		if len(st.Waits) > 0 {
			return true
		}
		if st.Action != nil {
			if spec := lang.ActionSpecs[st.Action.Type]; spec == nil || !spec.Local {
				return true
			}
		}
	}
	return false
}
