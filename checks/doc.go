// Package checks evaluates nrun's named conditions: one evaluator for
// each check of the catalog (lang.CheckSpecs, one catalog_check_NAME.go
// each), registered against its entry with evaluates;
// TestEvaluatorsCompleteAgainstCatalog holds the two to each other. The
// evaluator decides whether the condition holds; the catalog decides
// everything else, including which cluster a server check reads
// (ClusterOf applies the entry's lang.ClusterRule, the rule the safety
// analysis uses).
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
