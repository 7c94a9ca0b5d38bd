// Package e2e runs the four example runbooks in runbooks/ end to end: each
// test starts a fresh sandbox (real Nomad and Consul agents on loopback),
// runs the nrun binary as an operator would (plan -out, then apply), and
// checks the cluster afterwards through the agents' own APIs.
//
// Input: the runbooks and their var files; output: nothing but test
// results. The tests need the agent binaries (`nrun sandbox build`) and are
// skipped with -short.
package e2e
