package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/views"
)

// applyOutput is how apply prints the events of a run.
type applyOutput string

const (
	outputText     applyOutput = "text"     // timestamped lines
	outputProgress applyOutput = "progress" // lines above a redrawn footer
	outputJSON     applyOutput = "json"     // one event per line
)

// chooseApplyOutput picks apply's view. The redrawn footer is only for a
// person at a capable terminal: CI systems often run jobs on a
// pseudo-terminal (and set CI), a dumb terminal cannot move the cursor,
// and -no-progress is for whoever wants a log on a terminal.
func chooseApplyOutput(json, noProgress, stdoutTTY bool, getenv func(string) string) applyOutput {
	switch {
	case json:
		return outputJSON
	case !stdoutTTY, noProgress, getenv("TERM") == "dumb", getenv("CI") != "":
		return outputText
	}
	return outputProgress
}

// newApplyView returns the view for out on w, and what stops it.
func newApplyView(out applyOutput, w io.Writer, stream *views.Stream) (views.ApplyView, func()) {
	switch out {
	case outputJSON:
		return views.ApplyStream{S: stream}, func() {}
	case outputProgress:
		pv := &views.ApplyProgress{W: w}
		t := time.NewTicker(time.Second)
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-t.C:
					pv.Tick()
				case <-done:
					return
				}
			}
		}()
		return pv, func() { t.Stop(); close(done) }
	}
	return &views.ApplyText{W: w}, func() {}
}

// heartbeatInterval reads NRUN_HEARTBEAT: how often a run lists what is
// running; unset is the executor's default (30s), 0 turns it off.
func heartbeatInterval(getenv func(string) string) (time.Duration, error) {
	v := getenv("NRUN_HEARTBEAT")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("NRUN_HEARTBEAT=%q: want a duration such as 30s, or 0 for no heartbeat", v)
	}
	if d == 0 {
		return -1, nil
	}
	return d, nil
}

// console is the terminal apply shares with its view: whatever apply
// itself prints there while a run goes on (a question, the Ctrl-C notice)
// goes through it, so the view's footer is out of the way first and its
// redraw does not erase what was printed.
type console struct {
	mu   sync.Mutex
	view views.ApplyView
	// ask serialises questions: two approval steps may ask at once.
	ask sync.Mutex
}

func (c *console) setView(v views.ApplyView) {
	c.mu.Lock()
	c.view = v
	c.mu.Unlock()
}

// pause pauses the view, if there is one yet, and returns what resumes it.
func (c *console) pause() func() {
	c.mu.Lock()
	v := c.view
	c.mu.Unlock()
	if v == nil {
		return func() {}
	}
	v.Pause()
	return v.Resume
}

// say prints a notice on w.
func (c *console) say(w io.Writer, format string, args ...any) {
	defer c.pause()()
	fmt.Fprintf(w, format, args...)
}

// approver asks approval steps at the terminal: on w, reading in. The view
// stays paused from the question to the answer, so the question stays on
// screen however long the operator takes.
func (c *console) approver(w io.Writer, in *bufio.Reader, p *planner.Plan) func(context.Context, string, string) (bool, error) {
	return func(ctx context.Context, addr, msg string) (bool, error) {
		c.ask.Lock()
		defer c.ask.Unlock()
		defer c.pause()()
		views.ApprovalQuestion(w, addr, msg, waitingFor(p, addr))
		line, err := in.ReadString('\n')
		if err != nil && err != io.EOF {
			return false, err
		}
		return strings.TrimSpace(line) == "yes", nil
	}
}

// waitingFor lists the instances of p that depend on the instance addr,
// directly or through its step's address: what an approval guards.
func waitingFor(p *planner.Plan, addr string) []string {
	step := ""
	for _, in := range p.Instances {
		if in.Addr.String() == addr {
			step = in.Step.String()
		}
	}
	var out []string
	for _, in := range p.Instances {
		for _, d := range in.DependsOn {
			if d == addr || (d == step && in.Addr.String() != addr) {
				out = append(out, in.Addr.String())
				break
			}
		}
	}
	return out
}

// catchSIGPIPE keeps a closed stdout or stderr (`nrun apply -json | head`)
// from killing nrun in the middle of an action: writes then fail with
// EPIPE, which the output tolerates. Notify rather than Ignore: an ignored
// signal stays ignored in the exec'd commands, which expect the default.
func catchSIGPIPE() func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGPIPE)
	return func() { signal.Stop(ch) }
}

// quietWriter stops writing after the first failed write (a closed pipe, a
// full disk): the run goes on, its journal and log hold everything, and a
// failing stdout is not retried for every event.
type quietWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (q *quietWriter) Write(b []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return len(b), nil
	}
	_, q.err = q.w.Write(b)
	return len(b), nil
}
