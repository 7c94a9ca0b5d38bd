// Package sandbox runs real local Nomad and Consul clusters on loopback.
//
// Input: a Spec naming the Nomad servers, Nomad clients, the number of
// Consul servers and the agent versions, plus a Root directory that holds
// every agent's config, data_dir and log file, and the state file that lets a
// later process find the cluster again (Open).
//
// Output: a Cluster whose agents are real processes built from the pinned
// tools modules (tools/nomad-1.10, tools/nomad-1.9, tools/consul-1.21,
// tools/consul-1.20) and cached per version under
// os.UserCacheDir()/nrun/bin (see Binaries). Start
// returns only once Nomad has a leader, every Raft peer is a voter, every
// client is ready and Consul has a leader. The Cluster then offers the
// operations a runbook performs on a real fleet: stop, start (optionally on
// another version, same data_dir: the binary swap of an upgrade), kill, add
// and remove servers and clients, the same for Consul servers
// (StopConsulServer, StartConsulServer, KillConsulServer, AddConsulServer,
// RemoveConsulServer, in ops_consul.go), and Stop, which kills every process
// it started by PID and leaves no process or port behind.
//
// A Nomad agent may have its own Consul client agent (ServerSpec.ConsulAgent,
// `-consul-agent`), named like it, as on a real host: its services register
// there, and Consul node maintenance of that host is set on it
// (ConsulAgents lists their addresses). Balancer stands in for the load
// balancer in front of a fleet's servers, for runbooks that replace them
// all.
//
// Several processes may change one sandbox at once (terraform runs its
// provisioners concurrently): every change holds a flock on Root's
// sandbox.lock and reloads the state file first. Adding and removing hold
// it only while they change the state, not while agents start or leave.
//
// Consumers: the `nrun sandbox` command (cmd/nrun/sandbox.go), and the
// tests of checks/, planner/ and executor/ through package sandboxtest.
//
// Binaries: an explicit binary wins, named by NRUN_NOMAD_BIN_1_10_0,
// NRUN_NOMAD_BIN_1_9_4, NRUN_CONSUL_BIN_1_21_0 or NRUN_CONSUL_BIN_1_20_6 (EnvName; dots are not
// valid in variable names); then a nomad or consul on PATH whose `version`
// matches; then the cache ($NRUN_CACHE_DIR/bin, else
// os.UserCacheDir()/nrun/bin); then a build from the tools modules, found
// from the working directory, $NRUN_TOOLS_DIR, or this package's source
// path. Builds hold a flock per version and rename a finished temporary
// file into place, so concurrent test binaries never see half a binary.
//
// Every agent runs on 127.0.0.1 with ports from below the kernel's
// ephemeral range, its own data_dir under Root, its log in Root, and its own
// session (process group). Stop and `nrun sandbox down` kill by PID only
// after checking /proc/PID/cmdline names the agent's directory (or, just
// after its exec while the command line still reads empty, that its working
// directory is the agent's own), then sweep
// processes whose command line or working directory lies in Root (raw_exec
// tasks, executors), and unmount the tmpfs mounts Nomad puts on task
// directories.
//
// Spec.Secure (`nrun sandbox up -secure`) runs the same cluster with
// mutual TLS and ACLs, as production clusters run: Start writes an ECDSA
// P-256 CA and one certificate per role into Root/tls (server.REGION.nomad,
// client.REGION.nomad, server.DC.consul, a Consul client certificate and
// one for nrun and operators, each also naming localhost and 127.0.0.1);
// Nomad runs TLS on HTTP and RPC with verify_server_hostname and
// verify_https_client, Consul runs HTTPS only (on the port plain mode gives
// HTTP) with verify_incoming and verify_server_hostname; ACLs are on with
// default deny. Consul's management token is set in its servers' config;
// once Consul has a leader, nrun creates the Consul agents' token and
// Nomad's Consul token (service registration), then starts the Nomad
// agents and bootstraps Nomad's ACLs with a management secret it chose and
// saved first. Every wait, Status, the balancer and every operation then
// speak TLS with the CLI certificate and the management tokens. The tokens
// live in the state file and the agents' configs (mode 0600); Env is the
// only thing that hands them out. Without Secure nothing of this applies.
//
// Use it for tests and demos on one machine. Do not use it to run anything
// you care about: agents bind to 127.0.0.1 only, and a secure sandbox keeps
// its management tokens in plain files.
package sandbox
