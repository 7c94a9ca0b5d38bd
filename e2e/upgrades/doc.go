// Package upgrades runs the upgrade procedures of runbooks/ end to end on
// fresh sandboxes: consul-server-rolling-upgrade (Consul 1.20.6 to 1.21.0
// under a Consul quorum watcher), nomad-client-rolling-upgrade (the
// servers-first gate, at most max_parallel clients out, the stop once
// max_failures is exceeded) and nomad-server-rollback (after an upgrade
// made to fail on its second server, with the snapshot restore behind its
// approval). Helpers are shared through e2e/e2etest.
//
// Input: the runbooks; output: nothing but test results. Skipped with
// -short.
package upgrades
