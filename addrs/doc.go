// Package addrs defines the typed addresses of runbook objects: steps and
// their for_each instances.
//
// An address has one canonical string form, for example
// step.drain["node-1"] or step.retire["s1"].step.stop, and that same string
// appears in diagnostics, the plan, DAG vertices, the journal and logs.
//
// Input: names and keys from the lang IR or from journal text.
// Output: comparable values with String and Parse functions.
// Consumers: lang, planner, executor, views.
package addrs
