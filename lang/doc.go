// Package lang parses nrun runbooks (.nrun.hcl files) into a typed
// intermediate representation (IR) and checks everything that can be checked
// without a cluster. LANGUAGE.md at the repository root is the
// specification; its reference tables are generated from the schemas here.
//
// Input: HCL source bytes, one file or every .nrun.hcl file of a directory,
// plus input variable values (-var, -var-file).
// Output: a *Runbook whose every node keeps its source ranges, and
// hcl.Diagnostics. Decoding uses an explicit schema per block type (one file
// per block type, types.<block>.go), so an unknown attribute, block or action
// is an error. Nothing from the cluster is evaluated here: data sources are
// unknown values of a known type until the planner resolves them.
// Evaluation is bounded (limits.go): functions refuse to build values past
// MaxElements and MaxStringBytes, and the instance caps (Runbook.
// InstanceLimits) are shared with the planner.
//
// Entry points, in pipeline order:
//
//	Load / Parse   source -> *Runbook; structure, literals, step references;
//	               max_parallel, timeouts and enabled written as
//	               expressions are kept for the planner (plantime.go)
//	InputValues    -var / -var-file -> typed values
//	Validate       references and types, with unknown data (linear cost)
//	NewScope       values for evaluation, data sources unknown; the
//	               planner's NewScope fills them from a cluster view (the
//	               one place that does), and everyone evaluates per
//	               instance with Scope.StepEvalContext
//
// Consumers: planner (graph, safety analysis, plan resolution), executor
// (through the plan), cmd/nrun (validate, fmt, graph).
//
// Use this package to load and statically validate runbooks. Do not use it
// to talk to Nomad or Consul; that is the job of the planner and executor.
package lang
