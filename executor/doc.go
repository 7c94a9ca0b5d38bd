// Package executor applies a plan to a live cluster, with checkpoints.
//
// Input: a *planner.Plan (from planner.Resolve, or a saved plan that passed
// planner.CheckStale), the *lang.Runbook and input values it was made from,
// the plan's evaluation scope (planner.Plan.Scope: data sources filled once,
// by the planner, from the view the plan was made from; without one the run
// builds it with planner.NewScope from a fresh view), a *cluster.Client,
// and a state directory. Action and check arguments are evaluated here, at
// run time, in that scope, so step outputs and the live each.value
// (refreshed through planner.ServerValue and NodeValue) are used.
//
// Output: the changes to the cluster, a run directory
// (STATE/runs/RUN-ID/) holding the journal (package executor/journal) and
// the audit log, a stream of Events that package views renders, and, when
// the run finished, the values of the runbook's output blocks (Result.Outputs,
// also the "outputs" event), evaluated in the run's scope and redacted. The
// executor knows what runs, so the heartbeat (EventHeartbeat: the running
// instances and what their waits last observed) is timed here; the views
// only render it.
//
// Consumers: cmd/nrun (apply and apply -abandon, status, force-unlock).
//
// How a run works. One apply per state directory at a time (AcquireLock):
// the holder keeps a flock on the lock file, so a lock is stale only when
// nobody holds its flock and its PID is gone on this host; the run checks
// its lock's token (Lock.Verify) before every action and on a timer, and
// once the lock was forced it starts nothing new. With a backend in the
// cluster (package backend, through operation), Config.Guard is that
// lock, verified the same way, and Config.OpenMirror copies every journal
// record to the backend before the append returns, so no action starts
// before the copy shows its intent; a lost Guard or a failed copy stops
// the run (Result.Stopped) so that it can be resumed from anywhere.
// The scheduler starts a top-level instance (a leaf, or one instance of a
// composite step and its inner DAG) as soon as everything it depends on has
// finished, up to the step's max_parallel. The batches the planner encodes
// for max_parallel are not used: instances of one step start whenever a
// slot is free. order = "leader_last" is decided when an instance is
// picked, from the live leader. For each leaf instance: preconditions are
// evaluated on a fresh cluster view right before the action; the intent is
// journalled (fsync); the action runs (retried per retry {}); "action done"
// is journalled; each wait runs with its own timeout, on blocking queries
// where the API has them; "finished" is journalled. on_failure decides what
// a failure does: abort starts nothing new and lets running instances
// finish; continue skips only the dependants; pause stops like abort and
// leaves the run paused. A step with max_failures tolerates failed
// instances, as continue, until strictly more than its budget failed
// (schedule.go, tolerate); then no further instance of it starts and its
// on_failure applies.
//
// An exec command runs in its own process group, under a timeout (its
// own, else lang.ExecTimeout); at the timeout or a hard stop the group gets
// SIGTERM, then SIGKILL. Its output streams as it comes, with no line
// limit, to events and the audit log, through the Redactor; only bounded
// parts are held (see command.go). A command built from a sensitive value
// has its output suppressed everywhere.
//
// Actions are dispatched through the catalog (lang.ActionSpecs): each
// action's implementation is registered against its entry
// (implementAction, dispatch.go), and each resume probe strategy against
// the lang.Probe the entries name (implementProbe, probe.go). Nothing here
// decides on an action's or check's name: what differs between them
// (which cluster a check reads, what a snapshot must hold, how a wait
// waits, whether stdout is step output) is read from the catalog entry.
//
// Resume replays the journal: finished instances are skipped; an instance
// whose intent has no "action done" is in doubt and is re-checked with its
// action's probe strategy (a drain already set, a peer already gone, an
// exec check command, or, for an action that is harmless to repeat, the
// entry's RepeatSafe); when no probe can tell, the run stops and asks the
// operator (AssumeDone, Redo). It never guesses.
//
// It fails closed on the journal too. A journal write that fails stops the
// run: nothing new starts, and the journal takes no more records. A run
// whose journal cannot be read completely (damaged, cut, or in a format
// this nrun does not read) is never skipped: resume and a new run of a
// runbook it may belong to are refused, naming it, until it is repaired or
// given up with Abandon (nrun apply -abandon), which records who and when.
//
// Do not use this package to decide what to run (that is the planner) or to
// print (that is views).
package executor
