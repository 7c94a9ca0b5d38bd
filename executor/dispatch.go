package executor

import (
	"context"
	"fmt"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
)

// The executor decides nothing on an action's name. Each action's
// implementation is registered here against its catalog entry (by the
// files that implement it: actions.go, actions_cluster.go, ...), and each
// of the catalog's resume probe strategies (lang.Probe) against its kind
// (probe.go); doAction and probe look the entry up and call what is
// registered. TestCatalogComplete holds the two tables to the catalog.

// actionFunc runs one attempt of an action on its evaluated arguments.
// ctx bounds it hard; soft ends at a graceful stop, which only actions
// with a safe point (sleep, approval, the drain's wait for completion)
// honour.
type actionFunc func(r *runner, ctx, soft context.Context, n *node, args map[string]cty.Value) (detail, digest string, err error)

// probeFunc settles an in-doubt run of an action whose catalog entry is
// spec, by the strategy it is registered for.
type probeFunc func(r *runner, ctx context.Context, n *node, spec *lang.ActionSpec, args map[string]cty.Value) (probeOutcome, string)

var (
	actionImpls = map[*lang.ActionSpec]actionFunc{}
	probeImpls  = map[lang.Probe]probeFunc{}
)

// implementAction registers f as the implementation of the catalog's
// action name. It panics at init on a name the catalog does not have, or
// on a second implementation.
func implementAction(name string, f actionFunc) {
	spec := lang.ActionSpecs[name]
	if spec == nil {
		panic(fmt.Sprintf("executor: action %q is not in the catalog", name))
	}
	if _, dup := actionImpls[spec]; dup {
		panic(fmt.Sprintf("executor: action %q is implemented twice", name))
	}
	actionImpls[spec] = f
}

// implementProbe registers f as the catalog's probe strategy p.
func implementProbe(p lang.Probe, f probeFunc) {
	if _, dup := probeImpls[p]; dup {
		panic(fmt.Sprintf("executor: probe %q is implemented twice", p))
	}
	probeImpls[p] = f
}

// argsFor evaluates n's action arguments for its catalog entry: an action
// that names a terraform directory needs that directory's outputs in the
// scope first.
func (r *runner) argsFor(n *node, spec *lang.ActionSpec) (map[string]cty.Value, error) {
	if spec.TakesTerraform() {
		r.fillTerraformScope()
	}
	return r.evalArgs(n, n.step.Action.Args)
}
