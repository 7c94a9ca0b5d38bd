// Package cluster is nrun's only door to a live Nomad and Consul cluster.
//
// Input: the runbook's nomad {} and consul {} settings (already evaluated to
// strings by the caller) plus the standard NOMAD_* and CONSUL_HTTP_*
// environment variables, resolved into a Config.
//
// Output: typed, plain views of the cluster. Snapshot reads the Raft
// configuration, autopilot health, members and leader of both clusters, the
// Nomad client nodes and the jobs asked for, into a View: a JSON-serialisable
// value with no live handles in it. The quorum arithmetic (Voters, Quorum,
// FailureTolerance) lives on the view so that every consumer counts the same
// way. The Wait* functions are small blocking queries for the executor's
// waits.
//
// Consumers: the planner (data sources and "show now" check results), the
// executor (preconditions and waits, through package checks), package checks
// (which evaluates View values and never talks to the network) and the
// sandbox status command.
//
// Use this package when you need facts from a cluster; do not use it to
// change a cluster (actions build their own API calls at execution time).
// Tokens are held in memory only: no type here prints, logs or marshals one.
package cluster
