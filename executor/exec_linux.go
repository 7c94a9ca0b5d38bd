package executor

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// childAttr puts a command in its own process group (a Ctrl-C at the
// terminal reaches nrun, which decides, not the command) and kills it when
// nrun dies, so a crashed apply leaves no command running on behind the
// journal's back: resume's probe then sees a settled effect.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// groupRunning reports whether a process of group pgid still runs. A
// zombie has exited (its parent has not reaped it: a frozen or stopped
// nrun), so its effect is settled; kill(-pgid, 0) alone counts it.
func groupRunning(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			return true
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 {
			return true
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid && f[0] != "Z" && pid > 0 {
			return true
		}
	}
	return false
}
