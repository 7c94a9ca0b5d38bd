// Package planner turns a validated runbook IR into the step graph, proves
// it safe, and resolves it into the plan model.
//
// Input: a *lang.Runbook (from lang.Load or lang.Parse) and its input
// variable values; later stages also take the live inventory read from
// Nomad and Consul.
// Output: a *Graph (the static step DAG: top-level steps, plus one small
// DAG per composite step) and hcl.Diagnostics for dependency cycles and
// safety findings, each with a Subject range in the runbook.
//
// Consumers: cmd/nrun (validate, graph, plan) and the executor, which walks
// the plan in the graph's deterministic order.
//
// One evaluation scope (scope.go): NewScope fills a runbook's data sources
// from one cluster view through the one mapping from cluster objects to
// HCL values (ServerValue, NodeValue; the leader by cluster.RaftView.
// Leader). Resolve fills its scope that way and keeps it on the plan
// (Plan.Scope); the safety analysis, the Terraform preview and the
// executor evaluate in it, so plan and apply see the same values. Nothing
// else turns cluster objects into HCL values.
//
// Arguments known at plan (max_parallel, timeouts, enabled) are evaluated
// in that same scope (resolve_plantime.go) and recorded on the plan; the
// executor reads the plan's values, and the safety analysis evaluates them
// in its scope (offline: the worst legal value).
//
// Resolve is pure (no network). The one planning step that asks the
// servers, PreviewJobs, runs after it: Nomad plans every nomad_job_run and
// the plan records the job diff and the JobModifyIndex apply registers
// with (preview_job.go).
//
// The graph is stored in github.com/dominikbraun/graph, but every order the
// planner hands out (Order, Waves, Preds, Succs, Ancestor) is computed here
// by one linear Kahn pass, never by the library's own sorts or
// PreventCycles: those are quadratic and took seconds on a few thousand
// steps (see BenchmarkStableTopologicalSort). The same runbook always gives
// the same order, waves and DOT bytes.
//
// Use Validate to check a runbook end to end without a cluster. Do not use
// this package to parse HCL (that is lang) or to run steps (that is the
// executor).
package planner
