//go:build unix

package planner

import (
	"syscall"
	"time"
)

// safetyCPU returns the CPU time this process has used so far, so the
// safety benchmarks can report CPU per op: on a shared machine wall time
// also measures the neighbours.
func safetyCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
