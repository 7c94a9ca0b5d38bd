// Package checks holds nrun's named conditions: quorum_ok,
// leader_not_target, server_healthy, servers_healthy, raft_peer_present,
// raft_peer_absent, node_ready, node_ineligible, node_drained,
// consul_maintenance, deployment_successful, deployment_canaries_healthy,
// servers_version and http_ok.
//
// Input: a check name, its arguments (Args, converted from the evaluated
// HCL arguments by ArgsFromCty), the step instance's Target and a
// cluster.View.
//
// Output: a Result, which says whether the condition holds, what was
// observed and why it fails, in one line that the plan, the executor's log
// and the journal print as is.
//
// Consumers: the planner (show each precondition against the view taken at
// plan time), the executor (evaluate preconditions before an action, and
// re-evaluate waits on each answer of a blocking query until they hold).
//
// Every check but http_ok is a pure function of the View: no network, no
// clock, so the same view always gives the same Result and a recorded view
// is a complete test fixture. http_ok cannot be pure; it is EvalHTTP and
// takes the probe as a parameter.
package checks
