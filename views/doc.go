// Package views prints what the nrun commands produce: diagnostics as
// human text or as JSON; plans as text, as Markdown for pull request
// comments (with a marker line a CI job finds its comment by, and a
// Markdown form of a plan that failed) and as the plan JSON; apply's
// progress and reports; and the one-line summaries of commands such as
// `nrun validate`.
//
// Input: hcl.Diagnostics (with the parsed files, for source snippets), the
// plan model (planner.Plan), executor events and results, and small
// result structs built by the commands.
// Output: bytes on an io.Writer. Every function here is a pure function of
// its arguments: it reads no environment and decides nothing about
// terminals; callers pass the colour and width they want. That keeps the
// output testable against goldens (views/testdata/*.golden, regenerated
// with `go test ./views -update`).
//
// The apply views (ApplyText, ApplyJSON, ApplyProgress) render the events
// of a run as they come, heartbeats included; they do not choose
// themselves: the command picks one for its output and pauses it while it
// asks the operator a question on the same terminal.
//
// Consumers: cmd/nrun. Use this package for anything a command prints.
// Do not put decisions here (exit codes, which files to read); those belong
// to the command that calls the view.
package views
