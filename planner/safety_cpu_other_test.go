//go:build !unix

package planner

import "time"

// safetyCPU is not available here; benchmarks then report wall time only.
func safetyCPU() (time.Duration, bool) { return 0, false }
