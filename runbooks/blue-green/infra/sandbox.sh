#!/bin/sh
# sandbox.sh NRUN ARGS... runs `NRUN sandbox ARGS...` and makes add and
# remove idempotent.
#
# An apply interrupted after a provisioner ran but before terraform saved
# its state runs the provisioner again on the next apply: adding an agent
# the sandbox already has, or removing one it no longer has, then counts as
# done (the runbook's waits check that the agent is healthy). The same
# makes the sandbox's own first agents (the blue fleet of `nrun sandbox up
# -prefix blue-`) part of the blue count without starting them twice.
#
# Concurrent calls need no lock here: every `nrun sandbox` command that
# changes the sandbox holds a flock on it.
set -u
nrun=$1
shift
out=$("$nrun" sandbox "$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $rc -ne 0 ]; then
	case "$2:$out" in
	add:*"the sandbox already has a nomad-"* | add:*"the sandbox already has a consul-server"*) echo "sandbox.sh: $3 already exists; nothing to do"; rc=0 ;;
	remove:*"no nomad-"*" named"* | remove:*"no consul-server named"*) echo "sandbox.sh: $3 is already gone; nothing to do"; rc=0 ;;
	esac
fi
exit $rc
