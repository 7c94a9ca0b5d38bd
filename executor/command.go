package executor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
)

// Limits on what a command's output costs. Output is read as it comes, in
// pieces of at most outputChunk bytes, so a line of any length flows
// through (a single-line JSON document from curl, say) and the command
// never blocks on a full pipe. Only bounded parts are kept in memory.
const (
	// outputChunk is the largest piece of a line read at once, and so the
	// largest output event: longer lines reach the console in pieces.
	outputChunk = 4 << 10
	// OutputCap is how much of a command's standard output step.NAME.output
	// keeps. A longer output is not published: a later step that uses it
	// fails, naming the step, rather than run on a cut value.
	OutputCap = 1 << 20
	// lineMem is how much of one line is held in memory before the rest
	// of the line goes to a spool file until the line ends: run.log gets
	// every line whole, and unbroken by other log lines.
	lineMem = 64 << 10
	// tailLines and tailLineMax bound the output a failure carries into
	// its error (the journal's failure record, events, status).
	tailLines   = 5
	tailLineMax = 1 << 10
)

// suppressedOutput replaces the output of a command built from a
// sensitive value, in every sink.
const suppressedOutput = "output suppressed: the command uses a sensitive value; wrap the value in nonsensitive() in the runbook to show it"

// killGrace is how long a command has between SIGTERM and SIGKILL once its
// timeout runs out or the run is stopped at once. A variable so tests can
// shorten it.
var killGrace = 10 * time.Second

// pipeGrace is how long the readers may go on after the command exited:
// a process it left in the background may hold its output pipes open,
// and must not hold the run.
var pipeGrace = 2 * time.Second

// cmdOutput gathers what is kept of one command's output.
type cmdOutput struct {
	mu        sync.Mutex
	stdout    []byte // up to OutputCap
	truncated bool   // stdout was longer than OutputCap
	tail      []string
}

func (o *cmdOutput) keepStdout(p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.truncated {
		return
	}
	if len(o.stdout)+len(p) > OutputCap {
		o.truncated = true
		o.stdout = nil
		return
	}
	o.stdout = append(o.stdout, p...)
}

func (o *cmdOutput) addTail(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tail = append(o.tail, line)
	if len(o.tail) > tailLines {
		o.tail = o.tail[1:]
	}
}

// The two commands of an exec action, as runCommand's what names them in
// the log, events and errors.
const (
	cmdMain  = "exec"  // the command
	cmdCheck = "check" // the check command run after it (and by resume's probe)
)

// runCommand runs argv for n (what is cmdMain or cmdCheck) and returns its
// standard output, as much as step.NAME.output keeps (truncated reports
// that it was longer). The command runs in its own process group; when
// ctx ends or timeout (default lang.ExecTimeout) runs out, the group gets
// SIGTERM, then SIGKILL after killGrace.
func (r *runner) runCommand(ctx context.Context, n *node, what string, argv []string, env map[string]string, timeout time.Duration) (out string, truncated bool, err error) {
	if timeout <= 0 {
		timeout = lang.ExecTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	environ := append(execEnviron(os.Environ(), selfDir()), r.cfg.Env...)
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	sensitive := r.argvSensitive(n, what)
	// prog names the command in errors (journal, status): not when it
	// may be the secret itself.
	prog := argv[0]
	if r.progSensitive(n, what) {
		prog = "(sensitive)"
	}
	name, err := lookPathIn(argv[0], pathOf(environ))
	if err != nil {
		if prog != argv[0] {
			return "", false, fmt.Errorf("%s: the command (sensitive) was not found on PATH or is not executable", what)
		}
		return "", false, fmt.Errorf("%s: %w", what, err)
	}
	cmd := exec.Command(name, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = r.cfg.BaseDir
	cmd.Env = environ
	cmd.SysProcAttr = childAttr()
	// Pipes of our own rather than StdoutPipe: Wait then waits for the
	// process only, and the readers are stopped apart (pipeGrace) when a
	// background process keeps the pipes open.
	outR, outW, err := os.Pipe()
	if err != nil {
		return "", false, err
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return "", false, err
	}
	defer errR.Close()
	cmd.Stdout, cmd.Stderr = outW, errW

	shown := strings.Join(argv, " ")
	if sensitive {
		// Exact-match redaction cannot catch upper(var.pw) or
		// base64encode(var.pw): hide the whole command line.
		shown = "(sensitive)"
	}
	r.log.Printf("%s: %s: %s", n.addr, what, shown)
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		if sensitive {
			return "", false, fmt.Errorf("%s %s: the command could not be started", what, prog)
		}
		return "", false, fmt.Errorf("%s: %w", what, err)
	}
	if what == cmdMain {
		// Recorded so that a resume after a crash can wait for a command
		// that outlived nrun before it probes the command's effect.
		host, _ := os.Hostname()
		r.append(journal.Record{Kind: journal.KindExecStart, Addr: n.addr, PID: cmd.Process.Pid, Host: host})
	}
	if sensitive {
		// Any transformation of a secret can appear in the output, so
		// none of it is shown; the line says why and how to show it.
		r.log.Printf("%s: %s: %s", n.addr, what, suppressedOutput)
		r.emit(Event{Kind: EventOutput, Addr: n.addr, Message: suppressedOutput})
	}
	pgid := cmd.Process.Pid
	var killer *time.Timer
	var killMu sync.Mutex
	stopTerm := context.AfterFunc(ctx, func() {
		syscall.Kill(-pgid, syscall.SIGTERM)
		killMu.Lock()
		killer = time.AfterFunc(killGrace, func() { syscall.Kill(-pgid, syscall.SIGKILL) })
		killMu.Unlock()
	})
	defer stopTerm()

	o := &cmdOutput{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.readOutput(outR, n, what, "stdout", sensitive, o) }()
	go func() { defer wg.Done(); r.readOutput(errR, n, what, "stderr", sensitive, o) }()
	werr := cmd.Wait()
	// Taken now: a timeout that runs out while the readers drain did not
	// stop the command.
	stopped := !stopTerm()
	read := make(chan struct{})
	go func() { wg.Wait(); close(read) }()
	select {
	case <-read:
	case <-time.After(pipeGrace):
		// Closing the read ends ends the readers; what the background
		// process writes after this is lost (it gets EPIPE).
		outR.Close()
		errR.Close()
		<-read
	}
	if stopped {
		// The timeout or a stop fired. The killer stays armed while any
		// process of the group is left, so nothing of the command runs
		// on unbounded after its timeout.
		killMu.Lock()
		if killer != nil && syscall.Kill(-pgid, 0) != nil {
			killer.Stop()
		}
		killMu.Unlock()
	}

	out, truncated = string(o.stdout), o.truncated
	// A command stopped by its timeout or a stop has failed even when it
	// exits 0 on SIGTERM: it did not finish its work.
	if werr == nil && !stopped {
		return out, truncated, nil
	}
	if err := parent.Err(); err != nil {
		return out, truncated, fmt.Errorf("%s %s: %w", what, prog, err)
	}
	if stopped {
		return out, truncated, fmt.Errorf("%s %s: timed out after %s and was stopped: %w", what, prog, timeout, context.DeadlineExceeded)
	}
	msg := fmt.Sprintf("%s %s: %v", what, prog, werr)
	switch {
	case sensitive:
		msg += " (" + suppressedOutput + ")"
	case len(o.tail) > 0:
		msg += ": " + strings.Join(o.tail, " / ")
	}
	return out, truncated, errors.New(msg)
}

// readOutput reads one stream of a command to its end. Each line goes to
// run.log whole and to events in pieces of at most outputChunk bytes, both
// redacted; standard output is also kept for step.NAME.output. With
// sensitive set only that is done.
func (r *runner) readOutput(rd io.Reader, n *node, what, stream string, sensitive bool, o *cmdOutput) {
	br := bufio.NewReaderSize(rd, outputChunk)
	prefix := fmt.Sprintf("%s: %s %s| ", n.addr, what, stream)
	var (
		carry string          // text held back until no secret can start in it
		line  strings.Builder // the redacted line so far, up to lineMem
		spool *os.File        // the rest of a longer line
		tail  []byte          // the end of the line, for a failure's error
	)
	write := func(s string) {
		if s == "" {
			return
		}
		r.emit(Event{Kind: EventOutput, Addr: n.addr, Message: s})
		if spool == nil && line.Len()+len(s) > lineMem {
			f, err := os.CreateTemp(r.dir, "line-*")
			if err == nil {
				os.Remove(f.Name()) // unlinked: gone with the descriptor
				spool = f
			} else {
				// No room for the spool: the log gets the line in
				// lineMem pieces rather than nothing.
				r.log.Printf("%s%s", prefix, line.String())
				line.Reset()
			}
		}
		if spool != nil {
			spool.WriteString(s)
		} else {
			line.WriteString(s)
		}
		tail = append(tail, s...)
		if len(tail) > 2*tailLineMax {
			tail = append(tail[:0], tail[len(tail)-tailLineMax:]...)
		}
	}
	endLine := func() {
		if spool != nil {
			spool.Seek(0, io.SeekStart)
			r.log.Line(prefix, line.String(), spool)
			spool.Close()
			spool = nil
		} else {
			r.log.Line(prefix, line.String(), nil)
		}
		t := string(tail)
		if len(t) > tailLineMax {
			t = "…" + t[len(t)-tailLineMax:]
		}
		o.addTail(t)
		if line.Len() == 0 && len(tail) == 0 {
			// An empty line is still a line of output.
			r.emit(Event{Kind: EventOutput, Addr: n.addr, Message: ""})
		}
		line.Reset()
		tail = tail[:0]
	}
	for {
		frag, err := br.ReadSlice('\n')
		if len(frag) > 0 {
			if stream == "stdout" {
				o.keepStdout(frag)
			}
			if !sensitive {
				eol := frag[len(frag)-1] == '\n'
				text := string(frag)
				if eol {
					text = strings.TrimSuffix(text[:len(text)-1], "\r")
				}
				done, rest := r.red.Prefix(carry+text, eol)
				carry = rest
				write(done)
				if eol {
					endLine()
				}
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			break
		}
	}
	if sensitive {
		return
	}
	if carry != "" || line.Len() > 0 || spool != nil {
		// The last line had no newline.
		done, _ := r.red.Prefix(carry, true)
		write(done)
		endLine()
	}
}
