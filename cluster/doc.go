// Package cluster is nrun's only door to a live Nomad and Consul cluster.
//
// Input: the runbook's nomad {} and consul {} settings (already evaluated to
// strings by the caller) plus the standard NOMAD_* and CONSUL_HTTP_*
// environment variables, resolved into a Config.
//
// Output: typed, plain views of the cluster. Snapshot reads the Raft
// configuration, autopilot health, members and leader of both clusters, the
// Nomad client nodes and the jobs asked for, into a View: a JSON-serialisable
// value with no live handles in it. SnapshotSettled is Snapshot for a view
// to plan on: it reads again, for a bounded time, while an agent answers
// with a server error or a Raft peer has no name (a server restarting),
// and then refuses. The quorum arithmetic (Voters, Quorum,
// FailureTolerance) and the leader rule (RaftView.Leader) live on the view
// so that every consumer counts and picks the leader the same way. The Wait* functions are small blocking queries for the executor's
// waits. The job and Consul operations (jobs.go, consul_ops.go: parse, plan
// and register a job with a check index, watch, promote and revert its
// deployment; Consul maintenance, force-leave, Raft peer removal and
// snapshots) change the cluster; each comes with a probe that says whether
// its effect is already in place, so a resumed run can settle an action that
// was in doubt.
//
// Consumers: the planner (data sources and "show now" check results), the
// executor (preconditions and waits, through package checks), package checks
// (which evaluates View values and never talks to the network) and the
// sandbox status command.
//
// Use this package for facts from a cluster and for the job and Consul
// operations; the Nomad node and server actions live in the executor.
// Tokens are held in memory only: no type here prints, logs or marshals one.
package cluster
