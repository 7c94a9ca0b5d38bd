// Package operation runs nrun's operations, plan and apply (and apply's
// -abandon), from a runbook path to a result, as Terraform's backend/local
// does for its commands.
//
// Input: a PlanRequest or an ApplyRequest (typed options the CLI parsed
// from flags), a context that the CLI cancels on a signal, and for apply a
// UI through which the operation shows the plan, asks for confirmation and
// approvals, and reports the run's events.
// Output: a PlanResult or an ApplyResult: the runbook, the plan, the
// diagnostics, the executor's result, and an Outcome that says how the
// operation ended.
//
// Consumers: cmd/nrun (plan, apply). The CLI parses arguments, picks views
// and maps an Outcome (and a run's status) to an exit code, in one place;
// this package owns everything between: loading the runbook and its
// inputs (NRUN_VAR_name, -var-file, -var), the token preflight (every ACL
// capability the plan needs, checked before the cluster is read; package
// acl), reading the cluster (live or an
// inventory file), resolving the plan, the Terraform and job previews, the
// checks of a saved plan (its inputs, its fingerprint against the cluster
// now, its structure against a plan made now), the state lock, the
// backend (package backend: with consul or nomad, its lock is taken before
// the cluster is read and planned, and the executor mirrors the journal to
// it), and the executor. A resume settles which run it continues (from the
// state directory, or fetched from the backend under both locks) before
// it reads the cluster, so a finished, abandoned or damaged run is refused
// as such whatever state the cluster is in.
//
// It prints nothing and decides no exit code: what a person or a program
// sees is the UI's and the views' business.
package operation
