// Package backend keeps a runbook's lock and run history where a team
// shares them: in a state directory (local), in Consul KV (consul) or in
// Nomad Variables (nomad).
//
// Input: a Config (the backend kind and path, from the runbook's backend
// block or -backend; the cluster addresses and tokens, from the runbook and
// the environment), and the journal records a run writes.
// Output: a held Lock (renewed in the background; Verify says whether it
// still holds), a Mirror that copies each journal record to the store with
// a check-and-set write before the run goes on, and the runs read back
// (Runs, Fetch) with their hash chain verified exactly as a local journal
// is.
//
// Consumers: operation (apply takes the lock before planning and hands the
// Guard and the Mirror to the executor; abandon records, under the lock,
// that a run was given up), cmd/nrun (runs, status, force-unlock).
//
// The local journal stays the write-ahead log; the store is a mirror that
// never lags by more than the record being written. A store that cannot
// be written is waited for up to Config.WriteWait; a check-and-set
// conflict or a lost lock means another writer, and the run stops.
//
// Layout under PATH (default nrun/<runbook name>):
//
//	PATH/lock                         the lock, holding who holds it
//	PATH/runs/RUN-ID/j/000001 ...     the journal's lines, in chunks that fit
//	                                  the store's value size
//	PATH/runs/RUN-ID/abandoned        who gave the run up, when, and why
//	                                  (nrun apply -abandon; Backend.Abandon)
//	PATH/lock-history/TIME-ID         one entry per forced unlock
//
// Use it for anything that must survive the machine that runs nrun; the
// local kind is today's state directory and changes nothing.
package backend
