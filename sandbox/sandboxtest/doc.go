// Package sandboxtest starts real sandbox clusters from tests.
//
// Input: a *testing.T and a sandbox.Spec (Root may be empty). Output: a
// running *sandbox.Cluster whose teardown is wired into t.Cleanup (New) or
// into the package's TestMain (Shared + Main). Consumers: the tests of
// sandbox, checks, planner, executor and cmd/nrun.
//
// When the agent binaries are missing and cannot be built, tests skip with
// a message saying so, unless CI is set: then they fail, so CI never
// passes by skipping the only tests that touch a real cluster.
package sandboxtest
