package executor

import "syscall"

// childAttr puts a command in its own process group (a Ctrl-C at the
// terminal reaches nrun, which decides, not the command) and kills it when
// nrun dies, so a crashed apply leaves no command running on behind the
// journal's back: resume's probe then sees a settled effect.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
