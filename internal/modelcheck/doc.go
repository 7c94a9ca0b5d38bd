// Package modelcheck explores every schedule of a resolved plan over an
// explicit model of the clusters, to test the safety analysis from the
// outside.
//
// Input: a *planner.Plan (instances, their targets, effects, dependencies,
// preconditions, waits, on_failure and retry, and the steps' max_parallel
// and order) and the *cluster.View it was resolved against. Output: a
// Result with the number of states explored and the violating schedules
// found. Consumer: the model-checking test in package planner.
//
// It is written apart from the analysis and must never call it: it reads
// only the plan model and the inventory, and models the executor and the
// clusters itself. Do not use it at run time; it is exponential.
//
// The model. Each Raft cluster (Nomad's, Consul's) has its servers, each
// absent (created later), waiting to join, a voter, or removed, and each
// down, up but not yet healthy, healthy, or destroyed; and a leader. Each
// client has a capacity and its allocations, an eligibility, a drain state
// and whether it is still there. An instance goes pending, checked (its
// preconditions held), acting (its action runs), waiting (its waits),
// done; or failed, or skipped. Transitions are every start that the
// dependencies, max_parallel and leader_last allow, the end of an action,
// the end of a wait, one injected failure per schedule (of an action or a
// wait, with on_failure and retry), and the environment: a restarted
// server becoming healthy at any later time (so a step without a health
// wait can be followed by the next one while the server is still
// catching up), created servers joining, a drained node's allocations
// stopping at any time after the drain started (Nomad can report a drain
// complete before), and the leader moving to any healthy voter.
//
// Invariants: the unavailable voters of a cluster never exceed its failure
// tolerance (healthy voters fall below quorum, voters/2+1); a for_each step
// never disrupts its cluster's leader while other instances of the step
// are still to run; no client is stopped or destroyed while allocations run
// on it; and a drain starts only when the eligible capacity of the other
// clients covers the allocations it moves.
//
// Assumptions, where the model is kinder than the world: a precondition
// and its action are not separated by an election (the leader never moves
// onto the target of an instance already under way); checks the model
// does not know (http_ok, deployments, versions, consul maintenance) hold;
// a destroy takes down every server on the same host, a restart or stop
// only the target's own cluster.
package modelcheck
