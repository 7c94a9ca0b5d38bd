// Package planfile reads and writes the saved plan file of
// `nrun plan -out FILE`, which `nrun apply FILE` applies.
//
// Input: a *planner.Plan (Write, Encode), or the bytes of a plan file
// (Read, Decode).
// Output: a plan file on disk, or the *planner.Plan it holds after every
// check passed.
//
// Consumers: operation (plan -out writes, apply PLANFILE reads) and
// cmd/nrun (show PLANFILE).
//
// The file is its own versioned format, apart from the public JSON of
// `nrun plan -json` (docs/plan-json.md): a header and a payload.
//
//	nrun-plan
//	version 1
//	length 12345
//	sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//
//	{ ...the plan as nrun plan -json prints it... }
//
// The header is the magic line, the format version, the payload's length
// in bytes and the hex SHA-256 of the payload, then an empty line. The
// payload is the plan's JSON (today the same bytes as plan -json; it is
// free to diverge, since only this package reads it).
//
// Why: a saved plan is applied unattended, so a file that is empty,
// truncated, edited or damaged must be refused, not read as "nothing to
// do". Write never changes the target in place: it writes a temporary file
// in the same directory, fsyncs it, renames it over the target and fsyncs
// the directory, so an interrupted `plan -out` leaves the previous file (or
// none). Read checks the magic, the version, the length and the checksum,
// and says what is wrong and to run `nrun plan -out` again.
//
// The checksum detects damage, not tampering: whoever can write the file
// can recompute it. What a plan file may make apply do is bounded
// elsewhere: apply plans again from the runbook and the live cluster and
// refuses a file whose structure differs (cmd/nrun apply).
//
// Do not use this package to render a plan for people or programs (that is
// views) or to decide whether a saved plan is stale (planner.CheckStale).
package planfile
