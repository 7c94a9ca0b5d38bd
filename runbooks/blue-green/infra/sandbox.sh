#!/bin/sh
# sandbox.sh NRUN ARGS... runs `NRUN sandbox ARGS...` while holding a lock
# on the sandbox directory.
#
# Terraform runs the provisioners of different resources at the same time,
# and each `nrun sandbox ... add|remove` reads the sandbox's state file,
# changes it and writes it back; two at once would lose one agent's record.
# flock releases the lock when the process dies; -o keeps the lock's file
# descriptor out of the command, because the agent that `add` starts
# outlives it and would otherwise hold the lock for as long as it runs.
# Where flock is missing a mkdir lock is used instead.
set -eu
nrun=$1
shift
dir=${NRUN_SANDBOX_DIR:-.nrun/sandbox}
if [ ! -d "$dir" ]; then
	exec "$nrun" sandbox "$@"
fi
if command -v flock >/dev/null 2>&1; then
	exec flock -o "$dir/terraform.lock" "$nrun" sandbox "$@"
fi
lock="$dir/terraform.lock.d"
until mkdir "$lock" 2>/dev/null; do sleep 0.2; done
trap 'rmdir "$lock"' EXIT INT TERM
"$nrun" sandbox "$@"
