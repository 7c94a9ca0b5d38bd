// Package backends runs nrun with its state in the cluster
// (-backend=consul and -backend=nomad) end to end on a shared sandbox: two
// applies from two state directories of which exactly one runs, kill -9 at
// random moments with resume from an empty directory, a holder frozen past
// its lock's TTL, force-unlock, abandon, and the rolling upgrade with each
// backend. Helpers are shared through e2e/e2etest.
//
// Input: runbooks the tests write; output: nothing but test results.
// Skipped with -short.
package backends
