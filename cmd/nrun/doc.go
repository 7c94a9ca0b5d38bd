// Command nrun compiles, plans and applies HCL runbooks for Nomad and Consul
// clusters. See README.md and LANGUAGE.md.
//
// Input: command-line arguments and the process's streams and environment.
// Output: exit codes (documented in each command's -help) and what the views
// print. Consumers: operators and CI.
//
// The CLI is thin: each command is one file that parses its flags into a
// typed struct, calls lang, planner, planfile (saved plans), executor or
// sandbox, and hands the results to package views to print. main.go is
// one line.
package main
