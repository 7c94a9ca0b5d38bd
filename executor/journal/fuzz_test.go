package journal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// genuine writes journals the way the executor does (through Append), with
// a fixed clock so the bytes are the same on every run.
func genuine(t testing.TB) [][]byte {
	t.Helper()
	clock := time.Date(2026, 11, 22, 7, 15, 0, 0, time.UTC)
	histories := [][][]Record{
		{ // a run that finished
			{{Kind: KindRun, RunID: "r1", Runbook: "/rb/main.nrun.hcl", Instances: []string{"step.a", `step.b["x"]`}}},
			{{Kind: KindIntent, Addr: "step.a", Action: "exec", Attempt: 1}},
			{{Kind: KindExecStart, Addr: "step.a", PID: 42, Host: "h"}},
			{{Kind: KindActionDone, Addr: "step.a", Detail: "exit 0"}, {Kind: KindFinished, Addr: "step.a"}},
			{{Kind: KindIntent, Addr: `step.b["x"]`, Action: "drain", Attempt: 1}},
			{{Kind: KindActionDone, Addr: `step.b["x"]`}},
			{{Kind: KindWaitDone, Addr: `step.b["x"]`, Wait: "node_ready"}},
			{{Kind: KindFinished, Addr: `step.b["x"]`}},
			{{Kind: KindEnd, Status: StatusFinished}},
		},
		{ // a crash, a resume that probed, an operator decision
			{{Kind: KindRun, RunID: "r2", Instances: []string{"step.a", "step.b"}}},
			{{Kind: KindIntent, Addr: "step.a", Action: "exec", Attempt: 1}},
			{{Kind: KindResume, RunID: "r2", Instances: []string{"step.a", "step.b"}}},
			{{Kind: KindProbe, Addr: "step.a", Status: "unknown"}},
			{{Kind: KindPaused, Addr: "step.a", Action: "exec", Detail: "in doubt"}},
			{{Kind: KindEnd, Status: StatusPaused}},
			{{Kind: KindResume, RunID: "r2", Instances: []string{"step.a", "step.b"}}},
			{{Kind: KindDecision, Addr: "step.a", Status: "assume-done"}, {Kind: KindActionDone, Addr: "step.a"}},
			{{Kind: KindFinished, Addr: "step.a"}},
			{{Kind: KindFailed, Addr: "step.b", Error: "precondition"}},
			{{Kind: KindEnd, Status: StatusFailed}},
			{{Kind: KindAbandoned, User: "ops", Host: "box"}},
		},
	}
	var out [][]byte
	for i, h := range histories {
		p := filepath.Join(t.TempDir(), FileName)
		j, err := Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		j.now = func() time.Time { return clock }
		for _, batch := range h {
			if err := j.Append(batch...); err != nil {
				t.Fatalf("history %d: %v", i, err)
			}
		}
		j.Close()
		if _, err := Read(p); err != nil {
			t.Fatalf("history %d is refused: %v", i, err)
		}
		c, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// FuzzJournal feeds Scan and Check damaged journals: genuine ones with a
// byte flipped, a line deleted or repeated, a cut anywhere. Whatever they
// accept must be a whole-line prefix of a journal nrun wrote (the rest
// only a torn final write), so replaying it gives a history that really
// happened up to some point: damage never yields a silently different
// history. Forging a longer chain would take a CRC and SHA-256 match.
func FuzzJournal(f *testing.F) {
	valid := genuine(f)
	for _, v := range valid {
		f.Add(v)
		lines := bytes.SplitAfter(v, []byte{'\n'})
		lines = lines[:len(lines)-1]
		for i := range lines {
			del := bytes.Join(append(append([][]byte{}, lines[:i]...), lines[i+1:]...), nil)
			dup := bytes.Join(append(append(append([][]byte{}, lines[:i+1]...), lines[i]), lines[i+1:]...), nil)
			f.Add(del)
			f.Add(dup)
		}
		for _, at := range []int{1, len(v) / 3, len(v) / 2, len(v) - 2} {
			flip := bytes.Clone(v)
			flip[at] ^= 0x01
			f.Add(flip)
			f.Add(v[:at])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Scan(bytes.NewReader(data))
		if err == nil {
			err = Check(sc.Records)
		}
		if err != nil {
			return
		}
		if int(sc.Good)+len(sc.Torn) != len(data) || bytes.IndexByte(sc.Torn, '\n') >= 0 {
			t.Fatalf("accepted %d bytes and a torn tail of %d with a newline in it, of %d", sc.Good, len(sc.Torn), len(data))
		}
		kept := data[:sc.Good]
		for _, v := range valid {
			if bytes.HasPrefix(v, kept) && (len(kept) == len(v) || len(kept) == 0 || kept[len(kept)-1] == '\n') {
				st := Replay(sc.Records)
				st.Unfinished()
				return
			}
		}
		t.Fatalf("accepted a history nrun never wrote:\n%s", kept)
	})
}
