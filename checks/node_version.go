package checks

import (
	"fmt"

	version "github.com/hashicorp/go-version"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

func init() { evaluates(lang.CheckNodeVersion, nodeVersion) }

// nodeVersion holds when the node is ready and its agent reports at least
// a.Version; with a.Since set (a wait), only on a record whose status
// changed since then, so a record from before the restart cannot pass.
func nodeVersion(a Args, t Target, v *cluster.View) Result {
	n, label, bad := nodeOf(a, t, v)
	if bad != nil {
		return *bad
	}
	want, err := version.NewVersion(a.Version)
	if err != nil {
		return Result{Reason: fmt.Sprintf("version %q is not a version such as \"1.10.0\"", a.Version)}
	}
	obs := fmt.Sprintf("%s: version %s, status %s", label, n.Version, n.Status)
	have, err := version.NewVersion(n.Version)
	switch {
	case err != nil:
		return Result{Observed: obs, Reason: "the node reports no version nrun can read; check that its client agent runs"}
	case n.Status != "ready":
		return Result{Observed: obs, Reason: fmt.Sprintf("the node is %s, not ready; check that its Nomad client runs and reaches the servers", n.Status)}
	case have.LessThan(want):
		return Result{Observed: obs, Reason: fmt.Sprintf("the node runs %s, older than %s; upgrade its client agent and restart it", have, want)}
	case !a.Since.IsZero() && n.StatusUpdatedAt.Before(a.Since.Truncate(1e9)):
		return Result{Observed: obs, Reason: "the node has not re-registered since the wait began (its status last changed before); this may be the record from before the restart"}
	}
	return Result{OK: true, Observed: obs}
}
