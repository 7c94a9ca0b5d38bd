package checks

import (
	"fmt"
	"strings"

	goversion "github.com/hashicorp/go-version"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// quorumOK holds when the cluster keeps quorum with the target down:
// healthy voters, minus the target if it is one, >= voters/2+1. Without a
// server target it holds when the cluster is at quorum now.
func quorumOK(a Args, t Target, v *cluster.View) Result {
	r, _, bad := raftOf(a, t, v)
	if bad != nil {
		return *bad
	}
	voters, healthy, quorum, tol := r.Voters(), r.HealthyVoters(), r.Quorum(), r.FailureTolerance()
	obs := fmt.Sprintf("%d/%d voters healthy, failure tolerance %d", healthy, voters, tol)
	if r.Autopilot.Error != "" {
		obs += " (autopilot unavailable: no leader)"
	}
	// A voter autopilot still calls healthy but that is not alive by a
	// signal of its own counts as lost: autopilot notices a dead server
	// only once gossip does, seconds later.
	var notAlive []string
	for _, s := range r.Servers {
		if !s.InRaft || !s.Voter || !s.Healthy {
			continue
		}
		if ok, why := r.Alive(s); !ok {
			notAlive = append(notAlive, fmt.Sprintf("%s (%s)", s.Name, why))
		}
	}
	if len(notAlive) > 0 {
		obs += "; not counted though autopilot calls them healthy: " + strings.Join(notAlive, ", ")
	}
	if lv := r.Liveness(); len(notAlive) > 0 || lv != cluster.LivenessProbe && lv != cluster.LivenessUnprobed {
		obs += "; liveness by " + lv
	}
	wait := ""
	if len(notAlive) > 0 {
		wait = "; wait until the servers not counted are up again (or removed from Raft), then plan again"
		if len(notAlive) == 1 {
			wait = "; wait until the server not counted is up again (or removed from Raft), then plan again"
		}
	}
	st, ok := serverTarget(a, t)
	if !ok {
		obs += ", no server target"
		if tol >= 0 {
			return Result{OK: true, Observed: obs + " -> cluster at quorum"}
		}
		return Result{Observed: obs + " -> cluster below quorum",
			Reason: fmt.Sprintf("only %s of %d, quorum needs %d; restore the failed servers before going on%s", plural(healthy, "healthy voter", "healthy voters"), voters, quorum, wait)}
	}

	after := tol
	var what string
	s, found := findServer(r, st)
	switch {
	case !found || !s.InRaft:
		what = "is not a Raft peer"
	case !s.Voter:
		what = "is not a voter"
	case !s.Healthy:
		// Already counted as lost; stopping it costs nothing more.
		what = "is an unhealthy voter"
	case !r.Counted(s):
		what = "is a voter not counted as alive"
	default:
		what = "is a voter"
		after--
	}
	obs += fmt.Sprintf(", target %s %s -> tolerance after disruption %d", st.label(), what, after)
	if after >= 0 {
		return Result{OK: true, Observed: obs}
	}
	if tol < 0 {
		return Result{Observed: obs, Reason: fmt.Sprintf("the cluster is already below quorum (%s of %d, quorum needs %d); restore the failed servers before going on%s",
			plural(healthy, "healthy voter", "healthy voters"), voters, quorum, wait)}
	}
	return Result{Observed: obs, Reason: fmt.Sprintf("taking %s down would leave %d of %d voters healthy, below the quorum of %d; wait for the other servers to become healthy, or add servers first%s",
		st.label(), healthy-1, voters, quorum, wait)}
}

// leaderNotTarget holds when the target server is not the leader.
func leaderNotTarget(a Args, t Target, v *cluster.View) Result {
	r, which, bad := raftOf(a, t, v)
	if bad != nil {
		return *bad
	}
	st, ok := serverTarget(a, t)
	if !ok {
		return Result{Reason: "the step has no server target; set target to a server or give the check a server argument"}
	}
	leader, hasLeader := r.Leader()
	if !hasLeader {
		return Result{Observed: fmt.Sprintf("the %s cluster has no leader", which),
			Reason: "without a leader nrun cannot tell whether the target leads; wait for an election"}
	}
	obs := fmt.Sprintf("leader is %s, target %s", leader.Name, st.label())
	s, found := findServer(r, st)
	if !found || s.Address != leader.Address || s.ID != leader.ID {
		return Result{OK: true, Observed: obs}
	}
	reason := fmt.Sprintf("%s is the leader; set transfer = true to move leadership first, or use order = \"leader_last\"", st.label())
	if a.Transfer {
		reason = fmt.Sprintf("%s is the leader; the executor transfers leadership away before the action", st.label())
	}
	return Result{Observed: obs, Reason: reason}
}

func describeServer(s cluster.Server) string {
	parts := []string{}
	if s.Healthy {
		parts = append(parts, "autopilot healthy")
	} else {
		parts = append(parts, "autopilot unhealthy")
	}
	status := s.SerfStatus
	if status == "" {
		status = s.Status
	}
	if status != "" {
		parts = append(parts, "serf "+status)
	}
	switch {
	case !s.InRaft:
		parts = append(parts, "not a Raft peer")
	case s.Voter:
		parts = append(parts, "voter")
	default:
		parts = append(parts, "non-voter")
	}
	if s.Leader {
		parts = append(parts, "leader")
	}
	return strings.Join(parts, ", ")
}

// serverHealthy holds when autopilot reports the server healthy.
func serverHealthy(a Args, t Target, v *cluster.View) Result {
	r, which, bad := raftOf(a, t, v)
	if bad != nil {
		return *bad
	}
	st, ok := serverTarget(a, t)
	if !ok {
		return Result{Reason: "the step has no server target; set target to a server or give the check a server argument"}
	}
	s, found := findServer(r, st)
	if !found {
		return Result{Observed: fmt.Sprintf("%s is not a server of the %s cluster", st.label(), which),
			Reason: "the server is unknown to both Raft and gossip; check that it runs and has joined"}
	}
	obs := fmt.Sprintf("%s: %s", st.label(), describeServer(s))
	alive, why := r.Alive(s)
	if s.Healthy && s.InRaft && alive {
		return Result{OK: true, Observed: obs}
	}
	if s.Healthy && s.InRaft {
		return Result{Observed: obs + ", not alive: " + why,
			Reason: fmt.Sprintf("autopilot still calls %s healthy, but %s; wait until it is up again", st.label(), why)}
	}
	if r.Autopilot.Error != "" {
		return Result{Observed: obs, Reason: "autopilot has no answer without a leader"}
	}
	return Result{Observed: obs, Reason: fmt.Sprintf("autopilot does not yet count %s healthy (alive, in Raft, caught up with the leader)", st.label())}
}

// serversHealthy holds when autopilot reports the cluster healthy and, with
// count set, at least count voters are healthy.
func serversHealthy(a Args, t Target, v *cluster.View) Result {
	r, _, bad := raftOf(a, t, v)
	if bad != nil {
		return *bad
	}
	healthy, voters := r.HealthyVoters(), r.Voters()
	state := "healthy"
	if !r.Autopilot.Healthy {
		state = "unhealthy"
	}
	if r.Autopilot.Error != "" {
		state = "unavailable (no leader)"
	}
	obs := fmt.Sprintf("autopilot %s, %d/%d voters healthy", state, healthy, voters)
	if a.Count != nil {
		obs += fmt.Sprintf(", want at least %d", *a.Count)
	}
	if !r.Autopilot.Healthy {
		var sick []string
		for _, s := range r.Servers {
			switch {
			case s.InRaft && !s.Healthy:
				sick = append(sick, s.Name)
			case !s.InRaft && !s.Healthy:
				// Autopilot keeps reporting a server it just
				// cleaned out of Raft for a while.
				sick = append(sick, fmt.Sprintf("%s (not a Raft peer, serf %s)", s.Name, s.Status))
			}
		}
		reason := "autopilot reports the cluster unhealthy"
		if len(sick) > 0 {
			reason += "; unhealthy: " + strings.Join(sick, ", ")
		}
		return Result{Observed: obs, Reason: reason}
	}
	if a.Count != nil && healthy < *a.Count {
		return Result{Observed: obs, Reason: fmt.Sprintf("only %d healthy voters, %d short", healthy, *a.Count-healthy)}
	}
	return Result{OK: true, Observed: obs}
}

// raftPeer holds when the server is (present) or is not (!present) in the
// Raft configuration.
func raftPeer(a Args, t Target, v *cluster.View, present bool) Result {
	r, which, bad := raftOf(a, t, v)
	if bad != nil {
		return *bad
	}
	st, ok := serverTarget(a, t)
	if !ok {
		return Result{Reason: "the step has no server target; set target to a server or give the check a server argument"}
	}
	s, found := findServer(r, st)
	in := found && s.InRaft
	var obs string
	if in {
		role := "voter"
		if !s.Voter {
			role = "non-voter"
		}
		obs = fmt.Sprintf("%s (%s) is a Raft peer (%s), configuration index %d", st.label(), s.Address, role, r.Index)
	} else {
		obs = fmt.Sprintf("%s is not in the %s Raft configuration (index %d)", st.label(), which, r.Index)
	}
	switch {
	case in == present:
		return Result{OK: true, Observed: obs}
	case present:
		return Result{Observed: obs, Reason: "the server has not joined Raft yet; check that it runs and can reach the other servers"}
	default:
		return Result{Observed: obs, Reason: "the server is still a Raft peer; remove it (raft_remove_peer) or let autopilot's dead-server cleanup run"}
	}
}

// serversVersion holds when every server that has not left reports
// version (a leading "v" is ignored on both sides), or, with min, a version
// at least min by semantic version order (lang.ParseVersion, the order of
// version_compare).
func serversVersion(a Args, t Target, v *cluster.View) Result {
	r, which, bad := raftOf(a, t, v)
	if bad != nil {
		return *bad
	}
	want := strings.TrimPrefix(a.Version, "v")
	var least *goversion.Version
	if a.Min != "" {
		m, err := lang.ParseVersion(a.Min)
		if err != nil {
			return Result{Reason: "servers_version min: " + err.Error()}
		}
		least, want = m, strings.TrimPrefix(a.Min, "v")
	}
	if want == "" {
		return Result{Reason: "servers_version needs a version or a min argument"}
	}
	var total, at int
	var off []string
	for _, s := range r.Servers {
		if s.Status == "left" {
			continue
		}
		total++
		got := strings.TrimPrefix(s.Version, "v")
		if least == nil && got == want {
			at++
			continue
		}
		if least != nil {
			if have, err := lang.ParseVersion(got); err == nil && have.Compare(least) >= 0 {
				at++
				continue
			}
		}
		if got == "" {
			got = "unknown"
		}
		off = append(off, fmt.Sprintf("%s runs %s", s.Name, got))
	}
	obs := fmt.Sprintf("%d/%d %s servers at %s", at, total, which, want)
	if least != nil {
		obs = fmt.Sprintf("%d/%d %s servers at %s or newer", at, total, which, want)
	}
	if total == 0 {
		return Result{Observed: obs, Reason: "the view lists no servers"}
	}
	if len(off) > 0 {
		return Result{Observed: obs, Reason: strings.Join(off, ", ")}
	}
	return Result{OK: true, Observed: obs}
}

// ServerOf returns the server the named server check is about (its
// server argument, else the step's target) as the view reports it, in the
// cluster the catalog's rule says the check reads.
func ServerOf(name string, a Args, t Target, v *cluster.View) (cluster.Server, bool) {
	spec := lang.CheckSpecs[name]
	if spec == nil {
		return cluster.Server{}, false
	}
	a.Cluster = lang.ClusterArgName(ClusterOf(spec, a, t))
	r, _, bad := raftOf(a, t, v)
	if bad != nil {
		return cluster.Server{}, false
	}
	st, ok := serverTarget(a, t)
	if !ok {
		return cluster.Server{}, false
	}
	return findServer(r, st)
}
