// Package tfrun runs Terraform for the terraform_apply action.
//
// Input: a directory holding a Terraform configuration (a runbook's
// terraform "name" { dir = ... } block, resolved against the runbook's
// directory) and the variables the step passes, as cty values.
//
// Output: a PlanSummary (counts and one line per resource change, read from
// `terraform show -json` of a saved plan, never from human output) for the
// planner and for the executor's resume probe, and the configuration's
// outputs as cty values after an apply.
//
// Consumers: the planner (what a terraform_apply step would change) and the
// executor (the action itself). Apply is resume-safe because Terraform
// converges: applying the same variables again changes nothing, and
// Plan(...).NoChanges() is the probe that says the effect is in place.
//
// The terraform binary is found on PATH (Find) unless the caller names one;
// nothing is downloaded. Variables travel in a JSON var file written to a
// private temporary directory, so numbers stay numbers and values never
// appear on a command line.
//
// Do not use this package to read or edit state: it only drives init, plan,
// apply and output through github.com/hashicorp/terraform-exec.
package tfrun
