//go:build !unix

package planner

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
