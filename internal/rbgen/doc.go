// Package rbgen generates large, valid, realistic runbooks for benchmarks
// and stress tests of lang and planner.
//
// Input: Options (sizes and a seed). Output: the source of one .nrun.hcl
// file. The same Options always give the same bytes, so a benchmark measures
// the same runbook on every run. Consumers: planner benchmarks, and any
// test that needs a runbook larger than a hand-written fixture.
//
// Do not use it to write example runbooks for people; those live in
// runbooks/ and are written by hand.
package rbgen
