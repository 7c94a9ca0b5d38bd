// Package e2e runs the seed runbooks in runbooks/ end to end: the Nomad
// server rolling upgrade (the quick start, also on a secure sandbox), the
// node-pool drain, the job canary and the blue/green migration, plus the CI
// recipe of docs/ci.md. Each test starts a fresh sandbox (real Nomad and
// Consul agents on loopback), runs the nrun binary as an operator would
// (plan -out, then apply), and checks the cluster afterwards through the
// agents' own APIs, with a watcher that asserts quorum was never lost.
//
// The other procedures run in e2e/upgrades (the Consul server upgrade, the
// Nomad client upgrade, the server rollback) and the team backends in
// e2e/backends; they are separate packages so that `go test ./...` runs them
// side by side, each within its own time limit. What they share (the
// sandbox per test, running nrun, the watchers) is in e2e/e2etest.
//
// Input: the runbooks and their var files; output: nothing but test
// results. The tests need the agent binaries (`nrun sandbox build`) and are
// skipped with -short.
package e2e
