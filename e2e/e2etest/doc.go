// Package e2etest holds what the end-to-end test packages under e2e/
// share: the nrun binary built once per test binary (Main), a fresh sandbox
// per test with the environment nrun runs in (Env), and the watchers that
// follow a cluster while a runbook changes it (quorum, running
// allocations). Each e2e package's TestMain calls Main.
//
// Input: the sandbox specs and runbooks the tests give; output: helpers
// for tests only. Consumers: the test packages e2e, e2e/upgrades and
// e2e/backends.
package e2etest
