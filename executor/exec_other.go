//go:build !linux

package executor

import "syscall"

func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func groupRunning(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }
