package main

import (
	"os"
	"syscall"
)

// stopSignals ask nrun to stop, all in the same way: Ctrl-C (SIGINT), a
// service manager's SIGTERM, and SIGHUP, which a dropped ssh session or a
// closed terminal sends. Left to its default, SIGHUP would kill apply at
// once and leave the running step in doubt; handled, a dropped session
// stops the run as a first Ctrl-C does, with the journal closed.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
