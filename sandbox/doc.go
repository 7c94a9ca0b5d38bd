// Package sandbox runs real local Nomad and Consul clusters on loopback.
//
// Input: a Spec naming the Nomad servers, Nomad clients, the number of
// Consul servers and the agent versions, plus a Root directory that holds
// every agent's config, data_dir and log file, and the state file that lets a
// later process find the cluster again (Open).
//
// Output: a Cluster whose agents are real processes built from the pinned
// tools modules (tools/nomad-1.10, tools/nomad-1.9, tools/consul-1.21) and
// cached per version under os.UserCacheDir()/nrun/bin (see Binaries). Start
// returns only once Nomad has a leader, every Raft peer is a voter, every
// client is ready and Consul has a leader. The Cluster then offers the
// operations a runbook performs on a real fleet: stop, start (optionally on
// another version, same data_dir: the binary swap of an upgrade), kill, add
// and remove servers and clients, and Stop, which kills every process it
// started by PID and leaves no process or port behind.
//
// Consumers: the `nrun sandbox` command (cmd/nrun/sandbox.go), and the
// tests of checks/, planner/ and executor/ through package sandboxtest.
//
// Use it for tests and demos on one machine. Do not use it to run anything
// you care about: agents bind to 127.0.0.1 only, with no ACLs and no TLS.
package sandbox
