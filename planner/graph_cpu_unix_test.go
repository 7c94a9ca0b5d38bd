//go:build unix

package planner

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) this process has used so
// far. Benchmarks report it per op next to wall time, because the machine
// is shared and wall time then measures the neighbours too.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
