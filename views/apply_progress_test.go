package views

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor"
)

// clearRE is the footer's erase sequence: back to the start of its first
// line, clear to the end of the screen.
var clearRE = regexp.MustCompile("\r\x1b\\[(\\d+)A\x1b\\[J")

// screenOf replays what ApplyProgress wrote on a terminal and returns the
// lines left on screen.
func screenOf(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	add := func(s string) {
		if s == "" {
			return
		}
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("output not line-terminated: %q", s)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(s, "\n"), "\n")...)
	}
	pos := 0
	for _, m := range clearRE.FindAllStringSubmatchIndex(out, -1) {
		add(out[pos:m[0]])
		n, _ := strconv.Atoi(out[m[2]:m[3]])
		if n > len(lines) {
			t.Fatalf("the footer erases %d lines, only %d on screen", n, len(lines))
		}
		lines = lines[:len(lines)-n]
		pos = m[1]
	}
	add(out[pos:])
	return lines
}

// TestApplyProgressDrain30 replays the events of a 30-node drain
// (runbooks/drain-node-pool.nrun.hcl: 30 ineligible instances 5 at a time,
// then 30 drains 10 at a time, each node with allocations to move) on the
// terminal view and checks the screen mid-drain and at the end against a
// golden: one line per instance that ended, a footer with one line per
// running instance and a summary, not one line per event.
func TestApplyProgressDrain30(t *testing.T) {
	var b bytes.Buffer
	now := t0
	v := &ApplyProgress{W: &b, Now: func() time.Time { return now }}
	v.SetTotal(60)
	events := 0
	emit := func(e executor.Event) {
		e.Time = now
		v.Event(e)
		events++
	}
	node := func(i int) string { return fmt.Sprintf("c%02d", i) }
	emit(executor.Event{Kind: executor.EventRunStart, RunID: "r1", Message: "apply"})
	for i := 1; i <= 30; i += 5 {
		for j := i; j < i+5; j++ {
			addr := fmt.Sprintf("step.ineligible[%q]", node(j))
			emit(executor.Event{Kind: executor.EventStart, Addr: addr, Action: "nomad_node_eligibility"})
			emit(executor.Event{Kind: executor.EventAction, Addr: addr, Action: "nomad_node_eligibility"})
			emit(executor.Event{Kind: executor.EventActionDone, Addr: addr, Action: "nomad_node_eligibility", Message: "node " + node(j) + " eligible=false"})
			emit(executor.Event{Kind: executor.EventWait, Addr: addr, Check: "node_ineligible", Message: "node_ineligible: " + node(j) + ": ineligible: ok"})
			emit(executor.Event{Kind: executor.EventWaitDone, Addr: addr, Check: "node_ineligible", Elapsed: 400 * time.Millisecond})
		}
		now = now.Add(time.Second)
		for j := i; j < i+5; j++ {
			emit(executor.Event{Kind: executor.EventFinished, Addr: fmt.Sprintf("step.ineligible[%q]", node(j)), Elapsed: time.Second})
		}
	}
	// Drains, 10 at a time: node i has 1 + i%3 allocations; each
	// observation moves one; a node's drain ends when none is left.
	left := map[int]int{}
	started := map[int]time.Time{}
	drain := func(i int) string { return fmt.Sprintf("step.drain[%q]", node(i)) }
	observe := func(i int) {
		n := left[i]
		emit(executor.Event{Kind: executor.EventWait, Addr: drain(i), Check: "drain", AllocsLeft: &n,
			Message: fmt.Sprintf("node %s: draining=true, last drain draining, %d allocations left", node(i), n)})
	}
	start := func(i int) {
		left[i] = 1 + i%3
		started[i] = now
		emit(executor.Event{Kind: executor.EventStart, Addr: drain(i), Action: "nomad_node_drain"})
		emit(executor.Event{Kind: executor.EventAction, Addr: drain(i), Action: "nomad_node_drain"})
		observe(i)
	}
	next := 1
	for ; next <= 10; next++ {
		start(next)
	}
	var mid []string
	for done := 0; done < 30; {
		now = now.Add(3 * time.Second)
		// The oldest running drain moves one allocation.
		i := 0
		for j := range left {
			if i == 0 || started[j].Before(started[i]) || started[j].Equal(started[i]) && j < i {
				i = j
			}
		}
		left[i]--
		observe(i)
		if left[i] > 0 {
			continue
		}
		emit(executor.Event{Kind: executor.EventActionDone, Addr: drain(i), Action: "nomad_node_drain", Message: "node " + node(i) + " drained"})
		emit(executor.Event{Kind: executor.EventWaitDone, Addr: drain(i), Check: "node_drained", Elapsed: time.Second})
		emit(executor.Event{Kind: executor.EventFinished, Addr: drain(i), Elapsed: now.Sub(started[i])})
		delete(left, i)
		done++
		if next <= 30 {
			start(next)
			next++
		}
		if done == 15 {
			now = now.Add(time.Second)
			v.Tick()
			mid = screenOf(t, b.String())
		}
	}
	emit(executor.Event{Kind: executor.EventRunEnd, RunID: "r1", Status: "finished"})
	v.Close()
	end := screenOf(t, b.String())

	// The footer mid-drain: one line per running drain, then the summary.
	footer := mid[len(mid)-11:]
	for _, l := range footer[:10] {
		if !strings.HasPrefix(l, "  ⠿ step.drain[") {
			t.Errorf("footer line %q: want one line per running drain", l)
		}
	}
	// 30 ineligible and 15 drains done, 10 drains running, 5 to start.
	if want := "  45 done, 10 running, 5 waiting, 0 failed of 60; "; !strings.HasPrefix(footer[10], want) || !strings.HasSuffix(footer[10], " allocations still to move") {
		t.Errorf("summary %q, want %q... allocations still to move", footer[10], want)
	}
	// One line per instance that ended, plus the run's start and end.
	if len(end) != 60+2 || events < 4*len(end) {
		t.Errorf("%d lines on screen for %d events, want 62 (one per instance, and the run's start and end)", len(end), events)
	}
	checkGolden(t, "apply_progress_drain30.golden",
		[]byte("# Mid-drain\n"+strings.Join(mid, "\n")+"\n\n# At the end\n"+strings.Join(end, "\n")+"\n"))
}

// TestApplyProgressSmallPlan: a plan at or below progressCompactAt
// instances keeps every event line and the footer without a summary.
func TestApplyProgressSmallPlan(t *testing.T) {
	var b bytes.Buffer
	v := &ApplyProgress{W: &b, Now: func() time.Time { return t0 }}
	v.SetTotal(progressCompactAt)
	v.Event(executor.Event{Time: t0, Kind: executor.EventStart, Addr: "step.a", Action: "exec"})
	screen := screenOf(t, b.String())
	if want := []string{"step.a: starting (exec)", "  ⠿ step.a 0s exec"}; fmt.Sprint(screen) != fmt.Sprint(want) {
		t.Errorf("screen %q, want %q", screen, want)
	}
}
