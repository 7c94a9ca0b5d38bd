package checks

import (
	"fmt"
	"time"

	version "github.com/hashicorp/go-version"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

func init() { evaluates(lang.CheckNodeVersion, nodeVersion) }

// nodeVersion holds when the node is ready and its agent reports at least
// a.Version; with a.Since set (a wait after a restart), only on a record
// whose status changed since then, so a record from before the restart
// cannot pass.
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
	case !reregistered(n, a):
		return Result{Observed: obs, Reason: notReregistered}
	}
	return Result{OK: true, Observed: obs}
}

// reregistered says whether n's record is one the agent registered after
// the restarting action began (always, when a.Since is zero: no such
// action). Nomad sets StatusUpdatedAt, in whole seconds of the server's
// clock, on every registration and status change, and a restarted client
// registers again (status initializing, then ready); a stopped client's
// record keeps its old time, and its status stays ready until the servers
// miss its heartbeat.
//
// With a.Prior, the record read right before the action, the proof
// compares the servers' clock with itself: a later status time, or the
// same second with another status (ready after down), is a newer record.
// Without it (a resume), the record's time must fall in a later second
// than the one the action began in on nrun's clock: the record has no
// finer time, so a change in that same second could be the old record's
// and does not count; a wait then times out rather than pass on a record
// it cannot tell from the old one.
func reregistered(n cluster.Node, a Args) bool {
	switch {
	case a.Since.IsZero():
		return true
	case a.Prior != nil:
		return n.StatusUpdatedAt.After(a.Prior.StatusUpdatedAt) ||
			n.StatusUpdatedAt.Equal(a.Prior.StatusUpdatedAt) && n.Status != a.Prior.Status
	}
	return n.StatusUpdatedAt.After(a.Since.Truncate(time.Second))
}

const notReregistered = "the node has not registered again since the action began (its record is the one from before the restart); wait for its client agent to come back"
