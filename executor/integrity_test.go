package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/executortest"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/planner"
)

const inDoubtRunbook = `
step "a" {
  action "exec" {
    command = ["sh", "-c", "echo a >> a.txt"]
    effect  = "none"
  }
}
step "b" {
  depends_on = [step.a]
  action "exec" {
    command = ["sh", "-c", "echo b >> b.txt"]
    effect  = "none"
  }
}
`

// inDoubtRun leaves a run of inDoubtRunbook whose step.b ran but whose
// action_done could not be written: step.b is in doubt.
func inDoubtRun(t *testing.T, dir string) (Config, *Result) {
	t.Helper()
	rb, inputs, p := planFor(t, dir, inDoubtRunbook)
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	faulty := cfg
	faulty.afterOpen = func(j *journal.Journal) {
		j.SetFault(func(r journal.Record) error {
			if r.Kind == journal.KindActionDone && r.Addr == "step.b" {
				return errors.New("injected: I/O error")
			}
			return nil
		})
	}
	res, err := Run(context.Background(), faulty)
	if err != nil || res.JournalErr == nil {
		t.Fatalf("setup: %v %+v", err, res)
	}
	return cfg, res
}

// TestFlippedByteBlocksResumeAndNewRun: a flipped byte in the middle of
// the journal of a run that stopped with step.b in doubt. Resume used to
// say there was nothing to resume, and a new apply ran step.b a second
// time; both must refuse, name the run and say what to do. Once the run
// is abandoned, a new run starts.
func TestFlippedByteBlocksResumeAndNewRun(t *testing.T) {
	dir := t.TempDir()
	cfg, res := inDoubtRun(t, dir)
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "stopped in the middle of step.b") {
		t.Fatalf("intact journal: a new run was not refused: %v", err)
	}
	jp := filepath.Join(res.RunDir, journal.FileName)
	data, err := os.ReadFile(jp)
	must(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	data[len(lines[0])+len(lines[1])+12] ^= 0x04 // inside line 3
	must(t, os.WriteFile(jp, data, 0o600))

	for name, c := range map[string]Config{
		"resume":  func() Config { c := cfg; c.Resume = true; return c }(),
		"new run": cfg,
	} {
		_, err := Run(context.Background(), c)
		if err == nil {
			t.Fatalf("%s: ran over a damaged run", name)
		}
		for _, want := range []string{"run " + res.RunID + " cannot be read", "damaged at line 3", "It is a run of " + cfg.RunbookName,
			"nrun apply -abandon " + res.RunID, "-resume -run ID"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v\nwant it to say %q", name, err, want)
			}
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "b.txt")); string(b) != "b\n" {
		t.Errorf("step.b ran again: b.txt = %q", b)
	}
	// Resuming the damaged run by name says the same about its journal.
	c := cfg
	c.Resume, c.RunID = true, res.RunID
	if _, err := Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), "cannot be resumed") || !strings.Contains(err.Error(), "nrun apply -abandon "+res.RunID) {
		t.Errorf("resume -run of the damaged run: %v", err)
	}

	if _, err := Abandon(cfg.StateDir, res.RunID, "ops", "box", time.Now()); err != nil {
		t.Fatal(err)
	}
	res2, err := Run(context.Background(), cfg)
	if err != nil || res2.Status != journal.StatusFinished {
		t.Fatalf("new run after abandon: %v %+v", err, res2)
	}
}

// TestDamagedJournalBlocks: each way a journal can be damaged, on a run
// that stopped with step.b in doubt. Resume and a new run both refuse,
// say what is wrong and what to do, and step.b does not run again.
func TestDamagedJournalBlocks(t *testing.T) {
	rechain := func(recs []journal.Record) []byte {
		var data []byte
		prev := ""
		for i, r := range recs {
			r.Seq, r.Prev = uint64(i+1), prev
			line, err := journal.Encode(r)
			must(t, err)
			prev = journal.LineHash(line)
			data = append(data, line...)
		}
		return data
	}
	tests := map[string]struct {
		damage func(lines []string, recs []journal.Record) []byte
		want   string
	}{
		"complete last line with a bad checksum": {
			damage: func(lines []string, _ []journal.Record) []byte {
				b := []byte(strings.Join(lines, ""))
				b[len(b)-5] ^= 0x01
				return b
			},
			want: "damaged at line " + "LAST" + " (byte",
		},
		"deleted record": {
			damage: func(lines []string, _ []journal.Record) []byte {
				return []byte(strings.Join(append(lines[:1:1], lines[2:]...), ""))
			},
			want: "damaged at line 2",
		},
		"cut in the middle": {
			damage: func(lines []string, _ []journal.Record) []byte {
				return []byte(lines[0] + lines[1][:25] + strings.Join(lines[3:], ""))
			},
			want: "damaged at line 2",
		},
		"impossible history": {
			damage: func(_ []string, recs []journal.Record) []byte {
				// Every line checksummed and chained, but step.a
				// finished without its action having started.
				return rechain([]journal.Record{recs[0], {Kind: journal.KindFinished, Addr: "step.a"}, recs[len(recs)-1]})
			},
			want: "records finished for step.a, whose action was never started",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, res := inDoubtRun(t, dir)
			jp := filepath.Join(res.RunDir, journal.FileName)
			data, err := os.ReadFile(jp)
			must(t, err)
			recs, err := journal.Read(jp)
			must(t, err)
			lines := strings.SplitAfter(string(data), "\n")
			lines = lines[:len(lines)-1]
			must(t, os.WriteFile(jp, tc.damage(lines, recs), 0o600))
			want := strings.Replace(tc.want, "LAST", fmt.Sprint(len(lines)), 1)
			for name, c := range map[string]Config{
				"resume":  func() Config { c := cfg; c.Resume = true; return c }(),
				"new run": cfg,
			} {
				_, err := Run(context.Background(), c)
				if err == nil {
					t.Fatalf("%s: ran over a damaged run", name)
				}
				for _, w := range []string{"run " + res.RunID + " cannot be read", want, "nrun apply -abandon " + res.RunID} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: %v\nwant it to say %q", name, err, w)
					}
				}
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "b.txt")); string(b) != "b\n" {
				t.Errorf("step.b ran again: b.txt = %q", b)
			}
		})
	}
}

// TestRedactionKeepsTheRunFindable: -var pw=admin and a runbook under a
// directory named admin. The header's runbook path was redacted, so
// resume could not find the run.
func TestRedactionKeepsTheRunFindable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "admin")
	must(t, os.Mkdir(dir, 0o700))
	rb, inputs, p := planFor(t, dir, `
variable "pw" {
  type      = string
  sensitive = true
}
step "a" {
  action "exec" {
    command = ["sh", "-c", "test -e ok || { echo login $PW refused >&2; exit 1; }"]
    env     = { PW = var.pw }
    effect  = "none"
  }
}
`, "pw=admin")
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	res, err := Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusFailed {
		t.Fatalf("%v %+v", err, res)
	}
	recs, err := journal.Read(filepath.Join(res.RunDir, journal.FileName))
	must(t, err)
	if recs[0].Runbook != cfg.RunbookName || recs[0].RunID != res.RunID {
		t.Errorf("header rewritten: runbook %q run %q", recs[0].Runbook, recs[0].RunID)
	}
	for _, r := range recs {
		if strings.Contains(r.Error, "login admin") {
			t.Errorf("secret in the journal: %q", r.Error)
		}
	}
	must(t, os.WriteFile(filepath.Join(dir, "ok"), nil, 0o600))
	cfg.Resume = true
	res, err = Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("resume: %v %+v", err, res)
	}
}

// TestDiskFull runs out of space on a 64k tmpfs: the run stops, the
// journal holds only whole records (nothing glued to a short write), and
// once there is space again, resume continues and finishes.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (mount -t tmpfs -o size=64k); run as root to test a full disk")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); the full-disk test needs it", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, executortest.NoopRunbook(400))
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	cfg.StateDir = filepath.Join(mnt, ".nrun")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.JournalErr == nil || !strings.Contains(res.JournalErr.Error(), "no space left") || res.Status != journal.StatusFailed {
		t.Fatalf("the run did not stop on a full disk: %+v", res)
	}
	if len(res.Finished) == 0 || len(res.Finished) == 400 {
		t.Fatalf("%d finished; the disk should fill in the middle of the run", len(res.Finished))
	}
	jp := filepath.Join(res.RunDir, journal.FileName)
	data, err := os.ReadFile(jp)
	must(t, err)
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Errorf("the journal does not end in a whole record: ...%q", data[max(0, len(data)-40):])
	}
	recs, err := journal.Read(jp)
	if err != nil {
		t.Fatalf("the journal of a run stopped by a full disk is refused: %v", err)
	}
	st := journal.Replay(recs)
	t.Logf("disk full after %d records, %d instances finished", len(recs), len(res.Finished))

	// Free the space (grow the tmpfs) and resume: Open keeps what there
	// is and the run finishes.
	if out, err := exec.Command("mount", "-o", "remount,size=4m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	cfg.Resume = true
	res2, err := Run(context.Background(), cfg)
	if err != nil || res2.Status != journal.StatusFinished || res2.RunID != res.RunID {
		t.Fatalf("resume after freeing space: %v %+v", err, res2)
	}
	recs, err = journal.Read(jp)
	must(t, err)
	st2 := journal.Replay(recs)
	for _, a := range st.Order {
		if st.Instances[a].Phase == journal.PhaseFinished && st2.Instances[a].Attempt != st.Instances[a].Attempt {
			t.Errorf("%s finished before the disk filled but ran again", a)
		}
	}
	if st2.Unfinished() {
		t.Errorf("not done after resume: %v", st2.NotDone())
	}
}

// planAddrs is the instance list a run header of p carries; journals
// written by hand in tests need it, or Check refuses their records.
func planAddrs(p *planner.Plan) []string {
	var out []string
	for _, in := range p.Instances {
		out = append(out, in.Addr.String())
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTornTailReported: resume keeps a torn final write in a side file
// and says so in the run's events, instead of dropping it silently.
func TestTornTailReported(t *testing.T) {
	dir := t.TempDir()
	cfg, res := inDoubtRun(t, dir)
	jp := filepath.Join(res.RunDir, journal.FileName)
	f, err := os.OpenFile(jp, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	f.WriteString(`0badc0de {"seq":99,"kind":"fini`)
	f.Close()
	ev := &eventLog{}
	cfg.Events = ev.add
	cfg.Resume, cfg.Redo = true, []string{"step.b"}
	res2, err := Run(context.Background(), cfg)
	if err != nil || res2.Status != journal.StatusFinished {
		t.Fatalf("%v %+v", err, res2)
	}
	side := jp + ".torn-"
	found := false
	ev.mu.Lock()
	for _, e := range ev.ev {
		found = found || (e.Kind == EventInfo && strings.Contains(e.Message, "torn write") && strings.Contains(e.Message, side))
	}
	ev.mu.Unlock()
	if !found {
		t.Errorf("no event reports the torn write kept in %s*", side)
	}
	matches, _ := filepath.Glob(side + "*")
	if len(matches) != 1 {
		t.Fatalf("side files %v", matches)
	}
	if b, _ := os.ReadFile(matches[0]); string(b) != `0badc0de {"seq":99,"kind":"fini` {
		t.Errorf("side file holds %q", b)
	}
}

// TestRunDirWithoutRecords: a process killed between creating the run
// directory and writing the header did nothing, and must not block the
// next run; a journal lost or emptied after the run started must.
func TestRunDirWithoutRecords(t *testing.T) {
	tests := map[string]struct {
		files   map[string]string // in the run directory
		blocked string            // "" when the run is not in the way
	}{
		"empty directory":            {files: map[string]string{}},
		"empty journal":              {files: map[string]string{journal.FileName: "", LogFile: ""}},
		"torn header":                {files: map[string]string{journal.FileName: `1234abcd {"seq":1,"ki`}},
		"empty journal, log written": {files: map[string]string{journal.FileName: "", LogFile: "2026-12-06T00:00:00.000Z run run X\n"}, blocked: "the journal holds no record, but run.log shows the run started"},
		"journal missing, log there": {files: map[string]string{LogFile: "2026-12-06T00:00:00.000Z run run X\n"}, blocked: "no such file or directory"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rb, inputs, p := planFor(t, dir, `
step "a" {
  action "sleep" {
    duration = "0s"
  }
}
`)
			cfg := testConfig(t, dir, rb, inputs, p, nil)
			run := RunDir(cfg.StateDir, "20260101T000000Z-000001")
			must(t, os.MkdirAll(run, 0o700))
			for f, data := range tc.files {
				must(t, os.WriteFile(filepath.Join(run, f), []byte(data), 0o600))
			}
			res, err := Run(context.Background(), cfg)
			switch {
			case tc.blocked == "" && (err != nil || res.Status != journal.StatusFinished):
				t.Errorf("a run that never started blocks: %v", err)
			case tc.blocked != "" && (err == nil || !strings.Contains(err.Error(), tc.blocked) || !strings.Contains(err.Error(), "nrun apply -abandon 20260101T000000Z-000001")):
				t.Errorf("%v, want it blocked saying %q", err, tc.blocked)
			}
		})
	}
}
