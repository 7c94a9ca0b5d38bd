package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAppendReplay(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	j, err := Open(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	must(t, j.Append(Record{Kind: KindRun, RunID: "r1", Instances: []string{"step.a", "step.b"}}))
	must(t, j.Append(Record{Kind: KindIntent, Addr: "step.a", Action: "exec", Attempt: 1}))
	must(t, j.Append(Record{Kind: KindActionDone, Addr: "step.a"}, Record{Kind: KindWaitDone, Addr: "step.a", Wait: "node_ready"}))
	must(t, j.Append(Record{Kind: KindFinished, Addr: "step.a"}, Record{Kind: KindIntent, Addr: "step.b", Action: "sleep", Attempt: 1}))
	must(t, j.Close())

	recs, err := Read(p)
	must(t, err)
	if len(recs) != 6 {
		t.Fatalf("got %d records, want 6", len(recs))
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d has seq %d", i, r.Seq)
		}
	}
	st := Replay(recs)
	if st.Header.RunID != "r1" || st.Instances["step.a"].Phase != PhaseFinished || st.Instances["step.b"].Phase != PhaseIntent {
		t.Errorf("replay: %+v %+v %+v", st.Header, st.Instances["step.a"], st.Instances["step.b"])
	}
	if !st.Unfinished() {
		t.Error("a run without an end record must be unfinished")
	}
}

// TestTornTail cuts the file at every byte of its last record and checks
// that Open keeps the good prefix, truncates the rest and appends after it.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	j, err := Open(full, nil)
	must(t, err)
	must(t, j.Append(Record{Kind: KindRun, RunID: "r"}, Record{Kind: KindIntent, Addr: `step.x["a"]`, Action: "exec"}))
	must(t, j.Append(Record{Kind: KindActionDone, Addr: `step.x["a"]`, Detail: "some output"}))
	must(t, j.Close())
	data, err := os.ReadFile(full)
	must(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	prefix := len(lines[0]) + len(lines[1])
	for cut := prefix + 1; cut < len(data); cut++ {
		p := filepath.Join(dir, "cut")
		must(t, os.WriteFile(p, data[:cut], 0o600))
		j, err := Open(p, nil)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if n := len(j.Records()); n != 2 {
			t.Fatalf("cut at %d: %d records, want 2", cut, n)
		}
		must(t, j.Append(Record{Kind: KindFinished, Addr: `step.x["a"]`}))
		j.Close()
		recs, err := Read(p)
		must(t, err)
		if len(recs) != 3 || recs[2].Seq != 3 || recs[2].Kind != KindFinished {
			t.Fatalf("cut at %d: after append %+v", cut, recs)
		}
	}
	// A flipped byte in the last line is a torn tail too.
	bad := []byte(string(data))
	bad[len(bad)-5] ^= 0x20
	p := filepath.Join(dir, "flipped")
	must(t, os.WriteFile(p, bad, 0o600))
	j, err = Open(p, nil)
	must(t, err)
	if n := len(j.Records()); n != 2 {
		t.Fatalf("flipped tail: %d records, want 2", n)
	}
	j.Close()
}

func TestDamageInTheMiddleIsRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	j, err := Open(p, nil)
	must(t, err)
	must(t, j.Append(Record{Kind: KindRun}, Record{Kind: KindIntent, Addr: "step.a"}, Record{Kind: KindFinished, Addr: "step.a"}))
	j.Close()
	data, _ := os.ReadFile(p)
	i := strings.Index(string(data), "intent")
	data[i] = 'X'
	must(t, os.WriteFile(p, data, 0o600))
	if _, err := Open(p, nil); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Open of a journal damaged in the middle: err = %v", err)
	}
}

func TestRedact(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	j, err := Open(p, func(s string) string { return strings.ReplaceAll(s, "hunter2", "<redacted>") })
	must(t, err)
	must(t, j.Append(Record{Kind: KindFailed, Addr: "step.a", Error: "exit 1: token hunter2 refused", Detail: "hunter2"}))
	j.Close()
	data, _ := os.ReadFile(p)
	if strings.Contains(string(data), "hunter2") {
		t.Fatalf("secret in journal: %s", data)
	}
}

// TestRedactKeepsAddresses: resume matches journal addresses against the
// plan, so redacting a value that happens to occur in an address made a
// finished instance look unstarted and run again.
func TestRedactKeepsAddresses(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	j, err := Open(p, func(s string) string { return strings.ReplaceAll(s, "ops1", "<redacted>") })
	must(t, err)
	addr := `step.a["ops1-host"]`
	must(t, j.Append(Record{Kind: KindRun, RunID: "r", Instances: []string{addr}},
		Record{Kind: KindFinished, Addr: addr, Detail: "ops1"}))
	must(t, j.Close())
	recs, err := Read(p)
	must(t, err)
	st := Replay(recs)
	if in := st.Instances[addr]; in == nil || in.Phase != PhaseFinished {
		t.Fatalf("instance %s not finished after replay: %+v", addr, st.Instances)
	}
	if got := st.Header.Instances; len(got) != 1 || got[0] != addr {
		t.Errorf("header instances = %q, want [%q]", got, addr)
	}
	if recs[1].Detail != "<redacted>" {
		t.Errorf("detail not redacted: %q", recs[1].Detail)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDamagedJournalsRefused: journals nrun cannot have written are
// refused by Read (status) and Open (resume), each with a reason.
func TestDamagedJournalsRefused(t *testing.T) {
	hdr := Record{Seq: 1, Kind: KindRun, RunID: "r", Instances: []string{"step.a"}}
	tests := map[string]struct {
		recs []Record
		want string
	}{
		"no header":     {recs: []Record{{Seq: 1, Kind: KindIntent, Addr: "step.a"}}, want: "does not start with a run record"},
		"second header": {recs: []Record{hdr, {Seq: 2, Kind: KindRun, RunID: "r2"}}, want: "second run header"},
		"seq backwards": {recs: []Record{hdr, {Seq: 3, Kind: KindIntent, Addr: "step.a"}, {Seq: 2, Kind: KindFinished, Addr: "step.a"}}, want: "seq 2 after seq 3"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), FileName)
			var data []byte
			for _, r := range tc.recs {
				line, err := Encode(r)
				must(t, err)
				data = append(data, line...)
			}
			must(t, os.WriteFile(p, data, 0o600))
			if _, err := Read(p); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read: %v, want an error saying %q", err, tc.want)
			}
			if j, err := Open(p, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v, want an error saying %q", err, tc.want)
				if j != nil {
					j.Close()
				}
			}
		})
	}
}

// TestEndRecordDoesNotFinishUnstartedWork: an end record saying finished
// does not make a run finished while a header instance never started.
func TestEndRecordDoesNotFinishUnstartedWork(t *testing.T) {
	st := Replay([]Record{
		{Seq: 1, Kind: KindRun, RunID: "r", Instances: []string{"step.a", "step.b"}},
		{Seq: 2, Kind: KindFinished, Addr: "step.a"},
		{Seq: 3, Kind: KindEnd, Status: StatusFinished},
	})
	if !st.Unfinished() {
		t.Error("a run with step.b not started reads as finished")
	}
	if got := st.NotDone(); len(got) != 1 || got[0] != "step.b" {
		t.Errorf("NotDone = %v", got)
	}
}
