package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
)

// ApplyView prints the events of `nrun apply` as they happen.
type ApplyView interface {
	Event(e executor.Event)
	// Pause holds the output until Resume (calls nest), so a question
	// asked on the same terminal stays on screen and in one piece; a
	// progress footer is cleared first.
	Pause()
	// Resume prints what was held and carries on.
	Resume()
	// Close ends the output (clears a progress footer).
	Close()
}

// heartbeatMax is how many running instances a heartbeat names; the rest
// are counted.
const heartbeatMax = 10

// EventLine renders one event as the plain text of a log line, without a
// timestamp, or "" for events the plain view does not print. A heartbeat
// is one line per running instance, joined by newlines.
func EventLine(e executor.Event) string {
	el := ""
	if e.Elapsed > 0 {
		el = fmt.Sprintf(" (%s)", e.Elapsed.Round(time.Millisecond))
	}
	switch e.Kind {
	case executor.EventRunStart:
		return fmt.Sprintf("run %s: %s", e.RunID, e.Message)
	case executor.EventStart:
		if e.Action != "" {
			return fmt.Sprintf("%s: starting (%s)", e.Addr, e.Action)
		}
		return fmt.Sprintf("%s: starting", e.Addr)
	case executor.EventPrecondition:
		verdict := "ok"
		if !e.OK {
			verdict = "BLOCKED"
		}
		return fmt.Sprintf("%s: precondition %s: %s (%s)", e.Addr, e.Check, verdict, e.Message)
	case executor.EventAction:
		if e.Attempt > 1 {
			return fmt.Sprintf("%s: %s, attempt %d", e.Addr, e.Action, e.Attempt)
		}
		return fmt.Sprintf("%s: %s", e.Addr, e.Action)
	case executor.EventActionDone:
		return fmt.Sprintf("%s: %s done%s: %s", e.Addr, e.Action, el, e.Message)
	case executor.EventOutput:
		return fmt.Sprintf("%s: | %s", e.Addr, e.Message)
	case executor.EventWait:
		return fmt.Sprintf("%s: waiting: %s", e.Addr, e.Message)
	case executor.EventWaitDone:
		return fmt.Sprintf("%s: wait %s held%s", e.Addr, e.Check, el)
	case executor.EventFinished:
		return fmt.Sprintf("%s: finished%s", e.Addr, el)
	case executor.EventFailed:
		return fmt.Sprintf("%s: FAILED: %s", e.Addr, e.Message)
	case executor.EventSkipped:
		return fmt.Sprintf("%s: skipped: %s", e.Addr, e.Message)
	case executor.EventPaused:
		return fmt.Sprintf("%s: PAUSED: %s", e.Addr, e.Message)
	case executor.EventProbe:
		return fmt.Sprintf("%s: in doubt after an interruption; probe: %s", e.Addr, e.Message)
	case executor.EventInfo:
		if e.Addr != "" {
			return fmt.Sprintf("%s: %s", e.Addr, e.Message)
		}
		return e.Message
	case executor.EventHeartbeat:
		var lines []string
		for i, r := range e.Running {
			if i == heartbeatMax {
				lines = append(lines, fmt.Sprintf("still running: %d more", len(e.Running)-heartbeatMax))
				break
			}
			d := r.Elapsed.Round(time.Second)
			switch {
			case r.Wait != "":
				lines = append(lines, fmt.Sprintf("still waiting: %s %s (%s)", r.Addr, r.Wait, d))
			case r.Action != "":
				lines = append(lines, fmt.Sprintf("still running: %s %s (%s)", r.Addr, r.Action, d))
			default:
				lines = append(lines, fmt.Sprintf("still running: %s (%s)", r.Addr, d))
			}
		}
		return strings.Join(lines, "\n")
	case executor.EventRunEnd:
		return fmt.Sprintf("run %s: %s", e.RunID, e.Status)
	}
	// EventOutputs: ApplyOutputs prints them once the run is over.
	return ""
}

// ApplyOutputs prints the output values of a finished run, as Terraform
// does after an apply: one "name = value" line each, sensitive ones as
// <sensitive>. It prints nothing when there are none.
func ApplyOutputs(w io.Writer, outs []executor.OutputValue) {
	if len(outs) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("\nOutputs:\n\n")
	for _, o := range outs {
		fmt.Fprintf(&b, "%s = %s\n", o.Name, o.Text)
	}
	io.WriteString(w, b.String())
}

// ApplyText prints timestamped plain lines, for logs, pipes, CI and
// terminals where redrawing is unwelcome.
type ApplyText struct {
	W  io.Writer
	mu sync.Mutex
	// paused counts Pause calls not yet resumed; held is the output
	// meanwhile.
	paused int
	held   bytes.Buffer
}

// Event implements ApplyView.
func (v *ApplyText) Event(e executor.Event) {
	text := EventLine(e)
	if text == "" {
		return
	}
	ts := e.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(&b, "%s %s\n", ts, line)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.paused > 0 {
		if e.Kind != executor.EventHeartbeat { // stale once the question is answered
			v.held.WriteString(b.String())
		}
		return
	}
	io.WriteString(v.W, b.String())
}

// Pause implements ApplyView.
func (v *ApplyText) Pause() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.paused++
}

// Resume implements ApplyView.
func (v *ApplyText) Resume() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.paused > 0 {
		v.paused--
	}
	if v.paused == 0 && v.held.Len() > 0 {
		v.W.Write(v.held.Bytes())
		v.held.Reset()
	}
}

// Close implements ApplyView.
func (v *ApplyText) Close() {
	v.mu.Lock()
	v.paused = 1
	v.mu.Unlock()
	v.Resume()
}

// ApplyProgress is the terminal view: event lines scroll above a footer
// that lists the running instances with their elapsed time and what their
// waits observe, redrawn in place. It needs every byte written to the
// terminal below its footer to go through it (or through Pause and
// Resume): the redraw moves the cursor up by the lines it drew.
type ApplyProgress struct {
	W   io.Writer
	Now func() time.Time

	mu      sync.Mutex
	running map[string]*progressEntry
	footer  int // lines the footer occupies now
	// paused counts Pause calls not yet resumed; held are the event
	// lines meanwhile. closed: nothing is drawn any more.
	paused int
	held   []string
	closed bool

	// total is the plan's instance count (SetTotal); above
	// progressCompactAt the view is compact. ended counts the instances
	// that ended, by how.
	total int
	ended progressCounts
}

// progressCounts counts the instances of a run that ended, by how.
type progressCounts struct{ done, failed, skipped, paused int }

type progressEntry struct {
	since time.Time
	what  string
	// allocsLeft is what the instance's drain last observed still on
	// its node; nil before a drain observation.
	allocsLeft *int
}

// progressCompactAt is the plan size above which ApplyProgress is compact:
// the scroll gets one line per instance that ends (and what must not be
// missed: outputs, blocked preconditions, notices), not one per event, and
// the footer, one line per running instance, ends with a summary. A drain
// of 30 nodes is 60 instances and some 300 events.
const progressCompactAt = 20

// progressFooterMax is how many running instances a compact footer lists;
// the rest are counted. The footer is for max_parallel instances at once.
const progressFooterMax = 20

// SetTotal tells the view how many instances the plan has. Above
// progressCompactAt instances it makes the view compact; the summary
// counts those not started yet as waiting.
func (v *ApplyProgress) SetTotal(n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.total = n
}

func (v *ApplyProgress) compact() bool { return v.total > progressCompactAt }

// scrolls reports whether a compact view prints e above the footer.
func scrolls(e executor.Event) bool {
	switch e.Kind {
	case executor.EventStart, executor.EventAction, executor.EventActionDone, executor.EventWaitDone:
		return false
	case executor.EventPrecondition:
		return !e.OK
	}
	return true
}

// Event implements ApplyView.
func (v *ApplyProgress) Event(e executor.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.running == nil {
		v.running = map[string]*progressEntry{}
	}
	switch e.Kind {
	case executor.EventStart:
		v.running[e.Addr] = &progressEntry{since: e.Time, what: e.Action}
	case executor.EventWait:
		if p := v.running[e.Addr]; p != nil {
			p.what = e.Message
			if e.AllocsLeft != nil {
				n := *e.AllocsLeft
				p.allocsLeft = &n
			}
		}
	case executor.EventAction:
		if p := v.running[e.Addr]; p != nil {
			p.what = e.Action
		}
	case executor.EventFinished, executor.EventFailed, executor.EventSkipped, executor.EventPaused:
		delete(v.running, e.Addr)
		switch e.Kind {
		case executor.EventFinished:
			v.ended.done++
		case executor.EventFailed:
			v.ended.failed++
		case executor.EventSkipped:
			v.ended.skipped++
		case executor.EventPaused:
			v.ended.paused++
		}
	}
	// Wait observations and heartbeats are what the footer shows.
	line := ""
	if e.Kind != executor.EventWait && e.Kind != executor.EventHeartbeat && (!v.compact() || scrolls(e)) {
		line = EventLine(e)
	}
	if v.paused > 0 {
		if line != "" {
			v.held = append(v.held, line)
		}
		return
	}
	v.clear()
	if line != "" {
		fmt.Fprintln(v.W, line)
	}
	if !v.closed {
		v.draw()
	}
}

// Tick redraws the footer (elapsed times); call it about once a second.
func (v *ApplyProgress) Tick() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.paused > 0 || v.closed {
		return
	}
	v.clear()
	v.draw()
}

// Pause implements ApplyView: the footer is cleared and stays off, and
// event lines are held, until the last Resume.
func (v *ApplyProgress) Pause() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.paused == 0 {
		v.clear()
	}
	v.paused++
}

// Resume implements ApplyView.
func (v *ApplyProgress) Resume() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.paused > 0 {
		v.paused--
	}
	if v.paused > 0 {
		return
	}
	v.flush()
	if !v.closed {
		v.draw()
	}
}

func (v *ApplyProgress) flush() {
	for _, l := range v.held {
		fmt.Fprintln(v.W, l)
	}
	v.held = nil
}

// clear erases the footer: from the start of its first line to the end
// of the screen, which also takes what the terminal echoed below it (^C).
func (v *ApplyProgress) clear() {
	if v.footer > 0 {
		fmt.Fprintf(v.W, "\r\x1b[%dA\x1b[J", v.footer)
	}
	v.footer = 0
}

func (v *ApplyProgress) draw() {
	if len(v.running) == 0 {
		return
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	addrs := make([]string, 0, len(v.running))
	for a := range v.running {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	max := 8
	if v.compact() {
		max = progressFooterMax
	}
	for i, a := range addrs {
		if i == max {
			fmt.Fprintf(v.W, "  ... and %d more running\n", len(addrs)-max)
			v.footer++
			break
		}
		p := v.running[a]
		what := p.what
		if len(what) > 100 {
			what = what[:97] + "..."
		}
		fmt.Fprintf(v.W, "  ⠿ %s %s %s\n", a, now().Sub(p.since).Round(time.Second), what)
		v.footer++
	}
	if v.compact() {
		fmt.Fprintf(v.W, "  %s\n", v.summary())
		v.footer++
	}
}

// summary is the compact footer's last line: how many instances are done,
// running, waiting to start and failed, and how many allocations the
// drains running now still have to move.
func (v *ApplyProgress) summary() string {
	c := v.ended
	waiting := max(v.total-c.done-c.failed-c.skipped-c.paused-len(v.running), 0)
	s := fmt.Sprintf("%d done, %d running, %d waiting, %d failed of %d", c.done, len(v.running), waiting, c.failed, v.total)
	if c.skipped > 0 {
		s += fmt.Sprintf(", %d skipped", c.skipped)
	}
	if c.paused > 0 {
		s += fmt.Sprintf(", %d paused", c.paused)
	}
	left, known := 0, false
	for _, p := range v.running {
		if p.allocsLeft != nil {
			left += *p.allocsLeft
			known = true
		}
	}
	if known {
		s += fmt.Sprintf("; %d allocations still to move", left)
	}
	return s
}

// Close implements ApplyView: the footer is erased and held lines are
// printed; later calls print nothing more than event lines.
func (v *ApplyProgress) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clear()
	v.flush()
	v.closed = true
	v.paused = 0
}

// approvalGuardsMax is how many waiting instances an approval question
// names; the rest are counted.
const approvalGuardsMax = 8

// ApprovalQuestion prints the question an approval step asks at the
// terminal: the step, its message and the instances that wait for it (what
// the approval guards), ending with the prompt for the answer.
func ApprovalQuestion(w io.Writer, addr, message string, guards []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s asks for approval: %s\n", addr, message)
	if len(guards) > 0 {
		shown := guards
		if len(shown) > approvalGuardsMax {
			shown = shown[:approvalGuardsMax]
		}
		fmt.Fprintf(&b, "  Waiting for it: %s", strings.Join(shown, ", "))
		if n := len(guards) - len(shown); n > 0 {
			fmt.Fprintf(&b, " and %d more", n)
		}
		b.WriteString("\n")
	}
	b.WriteString("  Only 'yes' will be accepted: ")
	io.WriteString(w, b.String())
}

func runStatusText(st *journal.State, locked bool) string {
	switch {
	case st.End != nil && st.End.Status == journal.StatusFinished && len(st.NotDone()) > 0:
		return fmt.Sprintf("inconsistent (the end record says finished, but %d instances are not done)", len(st.NotDone()))
	case st.End != nil:
		return st.End.Status
	case !locked:
		return "interrupted (the process ended without an end record)"
	}
	return "running or crashed (no end record)"
}

// RunStatusJSON prints a run's replayed journal for `nrun status -json`.
// format_version changes when a field is removed or changes meaning;
// consumers must ignore fields they do not know.
func RunStatusJSON(w io.Writer, id string, st *journal.State, locked bool) error {
	out := struct {
		FormatVersion string         `json:"format_version"`
		RunID         string         `json:"run_id"`
		Status        string         `json:"status"`
		Unfinished    bool           `json:"unfinished"`
		Locked        bool           `json:"locked"`
		State         *journal.State `json:"state"`
	}{"1", id, runStatusText(st, locked), st.Unfinished(), locked, st}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// RunStatus prints a run's summary from its journal, for `nrun status`.
func RunStatus(w io.Writer, id string, st *journal.State, locked bool) {
	var b strings.Builder
	h := st.Header
	fmt.Fprintf(&b, "Run %s\n", id)
	fmt.Fprintf(&b, "  runbook:  %s\n", h.Runbook)
	fmt.Fprintf(&b, "  started:  %s by %s@%s (pid %d)\n", h.Time.UTC().Format(time.RFC3339), h.User, h.Host, h.PID)
	for _, r := range st.Resumes {
		fmt.Fprintf(&b, "  resumed:  %s by %s@%s (pid %d)\n", r.Time.UTC().Format(time.RFC3339), r.User, r.Host, r.PID)
	}
	status := runStatusText(st, locked)
	fmt.Fprintf(&b, "  status:   %s\n", status)
	counts := map[journal.Phase]int{}
	for _, a := range h.Instances {
		in := st.Instances[a]
		if in == nil {
			counts[journal.PhaseNone]++
			continue
		}
		counts[in.Phase]++
	}
	fmt.Fprintf(&b, "  instances: %d finished, %d in progress or in doubt, %d failed, %d skipped, %d paused, %d not started\n\n",
		counts[journal.PhaseFinished], counts[journal.PhaseIntent]+counts[journal.PhaseActionDone], counts[journal.PhaseFailed],
		counts[journal.PhaseSkipped], counts[journal.PhasePaused], counts[journal.PhaseNone])
	for _, a := range h.Instances {
		in := st.Instances[a]
		if in == nil {
			fmt.Fprintf(&b, "  %-12s %s\n", "not started", a)
			continue
		}
		line := fmt.Sprintf("  %-12s %s", in.Phase, a)
		if in.Error != "" {
			line += ": " + in.Error
		} else if in.Phase == journal.PhasePaused && in.Detail != "" {
			line += ": " + in.Detail
		}
		b.WriteString(line + "\n")
	}
	io.WriteString(w, b.String())
}

// ApplyReport prints how an apply run ended and, when it stopped, the
// command that continues it. resume is "nrun apply -resume" with the
// flags the run needs again; path is the runbook.
func ApplyReport(w io.Writer, res *executor.Result, resume, path string) {
	fmt.Fprintf(w, "\nRun %s: %s. %d finished, %d failed, %d skipped.\n", res.RunID, res.Status, len(res.Finished), len(res.Failed), len(res.Skipped))
	fmt.Fprintf(w, "Journal and log: %s\n", res.RunDir)
	if res.JournalErr != nil {
		fmt.Fprintf(w, "The journal could not be written, so nrun started nothing more: %v\nFree the disk or fix the file system, check the targets of the last running steps by hand, then continue with -resume.\n", res.JournalErr)
	}
	for _, f := range res.Failed {
		fmt.Fprintf(w, "  failed: %s\n", f)
	}
	switch res.Status {
	case journal.StatusPaused:
		for _, p := range res.Paused {
			fmt.Fprintf(w, "Waiting for approval of %s. To approve and continue:\n  %s -approve %s %s\n", p, resume, shellQuote(p), path)
		}
		for _, p := range res.InDoubt {
			fmt.Fprintf(w, "Cannot tell whether the action of %s happened. Check the target, then continue with one of:\n  %s -assume-done %s %s\n  %s -redo %s %s\n",
				p, resume, shellQuote(p), path, resume, shellQuote(p), path)
		}
		if len(res.Paused) == 0 && len(res.InDoubt) == 0 {
			fmt.Fprintf(w, "Paused (on_failure = pause). Fix the cause, then continue with:\n  %s %s\n", resume, path)
		}
	case journal.StatusFinished:
	default:
		fmt.Fprintf(w, "To continue this run:\n  %s %s\n", resume, path)
	}
}

// shellQuote quotes an instance address for a shell command line.
func shellQuote(s string) string {
	if strings.ContainsAny(s, "[]\"' ") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
