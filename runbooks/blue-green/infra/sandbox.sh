#!/bin/sh
# sandbox.sh NRUN ARGS... runs `NRUN sandbox ARGS...` while holding a lock
# on the sandbox directory, and makes add and remove idempotent.
#
# Terraform runs the provisioners of different resources at the same time,
# and each `nrun sandbox ... add|remove` reads the sandbox's state file,
# changes it and writes it back; two at once would lose one agent's record.
# flock releases the lock when the process dies; -o keeps the lock's file
# descriptor out of the command, because the agent that `add` starts
# outlives it and would otherwise hold the lock for as long as it runs.
# Where flock is missing a mkdir lock is used instead.
#
# An apply interrupted after a provisioner ran but before terraform saved
# its state runs the provisioner again on the next apply: adding an agent
# the sandbox already has, or removing one it no longer has, then counts as
# done (the runbook's waits check that the agent is healthy).
set -u
dir=${NRUN_SANDBOX_DIR:-.nrun/sandbox}
if [ -z "${NRUN_SANDBOX_LOCKED:-}" ] && [ -d "$dir" ]; then
	export NRUN_SANDBOX_LOCKED=1
	if command -v flock >/dev/null 2>&1; then
		exec flock -o "$dir/terraform.lock" "$0" "$@"
	fi
	lock="$dir/terraform.lock.d"
	until mkdir "$lock" 2>/dev/null; do sleep 0.2; done
	trap 'rmdir "$lock"' EXIT INT TERM
fi
nrun=$1
shift
out=$("$nrun" sandbox "$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $rc -ne 0 ]; then
	case "$2:$out" in
	add:*"the sandbox already has a nomad-"*) echo "sandbox.sh: $3 already exists; nothing to do"; rc=0 ;;
	remove:*"no nomad-"*" named"*) echo "sandbox.sh: $3 is already gone; nothing to do"; rc=0 ;;
	esac
fi
exit $rc
