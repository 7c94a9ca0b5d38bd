//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

// These tests run nrun apply on a pseudo-terminal, as an operator does,
// and read what the terminal shows. The nrun on $PATH is this test binary
// (TestMain). Runbooks hold the run with commands that wait for a file the
// test creates once it has seen what it expects; the deadlines only bound
// a broken build.

const termDeadline = time.Minute

// terminal is nrun running on a pseudo-terminal, with everything it wrote.
type terminal struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	exited chan error
	// drained is closed when the reader has read everything nrun wrote:
	// the terminal answers EIO once every holder of its other side is
	// gone. nrun exiting is not enough, its last lines may still be in
	// the terminal's buffer.
	drained chan struct{}

	mu      sync.Mutex
	out     []byte
	changed chan struct{} // closed on every read, then replaced
}

// openPTY opens a pseudo-terminal pair with /dev/ptmx.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlock the pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("pty number: %v", e)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// startTerminal runs `nrun args...` in dir with the pseudo-terminal as its
// controlling terminal and stdin, stdout and stderr, so Ctrl-C typed there
// reaches it as it would from a person.
func startTerminal(t *testing.T, dir string, env []string, args ...string) *terminal {
	t.Helper()
	bin, err := exec.LookPath("nrun")
	if err != nil {
		t.Fatal(err)
	}
	master, slave := openPTY(t)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TERM=xterm", "CI=", "NO_COLOR=1", "NRUN_HEARTBEAT=")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	tm := &terminal{t: t, master: master, cmd: cmd, exited: make(chan error, 1), drained: make(chan struct{}), changed: make(chan struct{})}
	go func() {
		defer close(tm.drained)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			tm.mu.Lock()
			tm.out = append(tm.out, buf[:n]...)
			close(tm.changed)
			tm.changed = make(chan struct{})
			tm.mu.Unlock()
			if err != nil { // EIO once nrun and its commands closed the terminal
				return
			}
		}
	}()
	go func() { tm.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-tm.exited
		}
		master.Close()
		if t.Failed() {
			t.Logf("the terminal shows:\n%s", strings.Join(renderScreen(tm.output()), "\n"))
		}
	})
	return tm
}

func (tm *terminal) output() []byte {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return append([]byte(nil), tm.out...)
}

// waitFor waits until the output after offset from holds s and returns the
// offset just past it.
func (tm *terminal) waitFor(s string, from int) int {
	tm.t.Helper()
	deadline := time.After(termDeadline)
	for {
		tm.mu.Lock()
		i := bytes.Index(tm.out[from:], []byte(s))
		ch := tm.changed
		tm.mu.Unlock()
		if i >= 0 {
			return from + i + len(s)
		}
		select {
		case <-ch:
		case <-deadline:
			tm.t.Fatalf("the terminal never showed %q", s)
		}
	}
}

// wait waits for nrun to exit, and for the terminal to show all it wrote,
// and returns its exit code.
func (tm *terminal) wait() int {
	tm.t.Helper()
	select {
	case err := <-tm.exited:
		select {
		case <-tm.drained:
		case <-time.After(termDeadline):
			tm.t.Fatal("the terminal was not drained after nrun exited")
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			tm.t.Fatal(err)
		}
		return 0
	case <-time.After(termDeadline):
		tm.t.Fatal("nrun did not exit")
	}
	return -1
}

func (tm *terminal) typeIn(s string) {
	tm.t.Helper()
	if _, err := tm.master.WriteString(s); err != nil {
		tm.t.Fatal(err)
	}
}

// waitFile waits until a runbook command has created path: the run got
// that far.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(termDeadline)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was never created", path)
		}
		time.Sleep(10 * time.Millisecond) // polls the file system; the file is the event
	}
}

// renderScreen replays output as a terminal shows it, scrollback
// included: text, CR, LF, cursor up (ESC[nA), erase line (ESC[K, ESC[2K)
// and erase below (ESC[J), which is all the progress view uses; other
// sequences and control characters are dropped.
func renderScreen(out []byte) []string {
	lines := [][]rune{nil}
	row, col := 0, 0
	for i := 0; i < len(out); {
		if out[i] == 0x1b && i+1 < len(out) && out[i+1] == '[' {
			j := i + 2
			for j < len(out) && (out[j] >= '0' && out[j] <= '9' || out[j] == ';' || out[j] == '?') {
				j++
			}
			if j == len(out) {
				break
			}
			param := string(out[i+2 : j])
			n, err := strconv.Atoi(param)
			if err != nil || n == 0 {
				n = 1
			}
			switch out[j] {
			case 'A':
				row = max(row-n, 0)
			case 'K':
				if param == "2" {
					lines[row] = nil
				} else if col < len(lines[row]) {
					lines[row] = lines[row][:col]
				}
			case 'J':
				if col < len(lines[row]) {
					lines[row] = lines[row][:col]
				}
				lines = lines[:row+1]
			}
			i = j + 1
			continue
		}
		r, size := utf8.DecodeRune(out[i:])
		i += size
		switch {
		case r == '\r':
			col = 0
		case r == '\n':
			row++
			for len(lines) <= row {
				lines = append(lines, nil)
			}
		case r >= ' ' && r != 0x7f:
			for len(lines[row]) < col {
				lines[row] = append(lines[row], ' ')
			}
			if col < len(lines[row]) {
				lines[row][col] = r
			} else {
				lines[row] = append(lines[row], r)
			}
			col++
		}
	}
	text := make([]string, len(lines))
	for i, l := range lines {
		text[i] = strings.TrimRight(string(l), " ")
	}
	return text
}

func writeRunbook(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.nrun.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// holdUntil is an exec step command that runs until the file exists.
func holdUntil(file string) string {
	return fmt.Sprintf(`["sh", "-c", "i=0; until [ -f %s ]; do i=$((i+1)); [ $i -lt 3000 ] || exit 1; sleep 0.02; done"]`, file)
}

func footerLines(screen []string) []string {
	var out []string
	for _, l := range screen {
		if strings.HasPrefix(l, "  ⠿ ") {
			out = append(out, l)
		}
	}
	return out
}

// TestApplyTerminalApproval: while an approval question is open, the
// progress footer keeps running instances, and their events arrive, but
// nothing redraws over the question until it is answered.
func TestApplyTerminalApproval(t *testing.T) {
	dir := writeRunbook(t, `
step "slow" {
  action "exec" {
    command = ["sh", "-c", "touch slow-running; i=0; until [ -f release ]; do i=$((i+1)); [ $i -lt 3000 ] || exit 1; sleep 0.02; done"]
    effect  = "none"
  }
}
# The question comes once step.slow runs, so the footer has it to redraw.
step "ready" {
  action "exec" {
    command = `+holdUntil("slow-running")+`
    effect  = "none"
  }
}
step "next" {
  depends_on = [step.slow]
  action "exec" {
    command = ["touch", "next-started"]
    effect  = "none"
  }
}
step "gate" {
  depends_on = [step.ready]
  action "approval" {
    message = "Proceed to drain production?"
  }
}
step "drain" {
  for_each   = toset(["c1", "c2"])
  depends_on = [step.gate]
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
`)
	tm := startTerminal(t, dir, nil, "apply", "-auto-approve", "main.nrun.hcl")
	tm.waitFor("⠿ step.slow", 0)
	asked := tm.waitFor("Only 'yes' will be accepted: ", 0)
	// Events while the question is open: step.slow finishes and step.next
	// starts, each of which redraws the footer when nothing asks.
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(dir, "next-started"))
	if after := tm.output()[asked:]; bytes.Contains(after, []byte("\x1b[")) {
		t.Errorf("the terminal was redrawn while the question was open: %q", after)
	}
	tm.typeIn("yes\r")
	tm.waitFor("run ", asked)
	if code := tm.wait(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	screen := renderScreen(tm.output())
	shown := strings.Join(screen, "\n")
	for _, want := range []string{
		"step.gate asks for approval: Proceed to drain production?\n" +
			`  Waiting for it: step.drain["c1"], step.drain["c2"]` + "\n" +
			"  Only 'yes' will be accepted: yes\n",
		"step.slow: finished",
		"step.next: finished",
		`step.drain["c2"]: finished`,
		"Run ", ": finished. 6 finished, 0 failed, 0 skipped.",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("the terminal does not show %q", want)
		}
	}
	if f := footerLines(screen); len(f) > 0 {
		t.Errorf("footer lines left on the terminal: %q", f)
	}
}

// TestApplyTerminalInterrupt: Ctrl-C while the footer is drawn leaves the
// notice readable and no footer behind.
func TestApplyTerminalInterrupt(t *testing.T) {
	dir := writeRunbook(t, `
step "slow" {
  for_each     = toset(["a", "b"])
  max_parallel = 2
  action "exec" {
    command = ["sh", "-c", "touch running-${each.key}; i=0; until [ -f release ]; do i=$((i+1)); [ $i -lt 3000 ] || exit 1; sleep 0.02; done"]
    effect  = "none"
  }
}
step "after" {
  depends_on = [step.slow]
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
`)
	tm := startTerminal(t, dir, nil, "apply", "-auto-approve", "main.nrun.hcl")
	at := tm.waitFor(`⠿ step.slow["b"]`, 0)
	// Ctrl-C once both commands run: typed while one is being started
	// (between its fork and its own process group) it would reach that
	// command too, as it would from a person at that instant.
	waitFile(t, filepath.Join(dir, "running-a"))
	waitFile(t, filepath.Join(dir, "running-b"))
	tm.typeIn("\x03")
	tm.waitFor("Press Ctrl-C again to stop at once.", at)
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := tm.wait(); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	screen := renderScreen(tm.output())
	if f := footerLines(screen); len(f) > 0 {
		t.Errorf("footer lines left on the terminal: %q", f)
	}
	shown := strings.Join(screen, "\n")
	for _, want := range []string{
		"nrun apply: stopping: nothing new starts; running actions finish. Press Ctrl-C again to stop at once.\n",
		`step.slow["a"]: finished`,
		`step.slow["b"]: finished`,
		"To continue this run:",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("the terminal does not show %q", want)
		}
	}
}

// TestApplyTerminalPlain: CI systems and dumb terminals get timestamped
// lines on a terminal too, without cursor movement.
func TestApplyTerminalPlain(t *testing.T) {
	dir := writeRunbook(t, `
step "a" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
`)
	tests := map[string]struct {
		env  []string
		args []string
	}{
		"CI":           {env: []string{"CI=true"}},
		"TERM=dumb":    {env: []string{"TERM=dumb"}},
		"-no-progress": {args: []string{"-no-progress"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"apply", "-auto-approve", "-state-dir", t.TempDir()}, tc.args...)
			tm := startTerminal(t, dir, tc.env, append(args, "main.nrun.hcl")...)
			if code := tm.wait(); code != 0 {
				t.Errorf("exit code %d", code)
			}
			tm.waitFor("Run ", 0)
			out := tm.output()
			if bytes.Contains(out, []byte("\x1b[")) || bytes.Contains(out, []byte("⠿")) {
				t.Errorf("terminal control or a footer in plain output: %q", out)
			}
			if !bytes.Contains(out, []byte("Z step.a: finished")) {
				t.Errorf("no timestamped line: %q", out)
			}
		})
	}
}
