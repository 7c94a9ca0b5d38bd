package journal

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
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
	must(t, j.Append(Record{Kind: KindRun, RunID: "r", Instances: []string{`step.x["a"]`}}, Record{Kind: KindIntent, Addr: `step.x["a"]`, Action: "exec"}))
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
	// The torn tail is kept beside the journal, not dropped.
	p := filepath.Join(dir, "torn")
	must(t, os.WriteFile(p, data[:prefix+7], 0o600))
	j, err = Open(p, nil)
	must(t, err)
	side := j.TornFile()
	j.Close()
	if got, err := os.ReadFile(side); err != nil || string(got) != string(data[prefix:prefix+7]) {
		t.Errorf("torn side file %q holds %q (%v), want %q", side, got, err, data[prefix:prefix+7])
	}
}

// TestCompleteLastLineBadChecksumIsRefused: a final line that ends in its
// newline was written whole, so a bad checksum there is damage; dropping
// it as a torn write ran the step it recorded a second time.
func TestCompleteLastLineBadChecksumIsRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	j, err := Open(p, nil)
	must(t, err)
	must(t, j.Append(Record{Kind: KindRun, RunID: "r", Instances: []string{"step.a"}}, Record{Kind: KindIntent, Addr: "step.a", Action: "exec"}))
	must(t, j.Append(Record{Kind: KindActionDone, Addr: "step.a", Detail: "some output"}))
	must(t, j.Close())
	data, _ := os.ReadFile(p)
	data[len(data)-5] ^= 0x20
	must(t, os.WriteFile(p, data, 0o600))
	for name, open := range map[string]func() error{
		"Read": func() error { _, err := Read(p); return err },
		"Open": func() error {
			j, err := Open(p, nil)
			if j != nil {
				j.Close()
			}
			return err
		},
	} {
		if err := open(); err == nil || !strings.Contains(err.Error(), "damaged at line 3") || !strings.Contains(err.Error(), "fails its checksum") || !strings.Contains(err.Error(), "not a torn write") {
			t.Errorf("%s: %v, want the damage at line 3 refused", name, err)
		}
	}
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
		Record{Kind: KindIntent, Addr: addr}, Record{Kind: KindFinished, Addr: addr, Detail: "ops1"}))
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
	if recs[2].Detail != "<redacted>" {
		t.Errorf("detail not redacted: %q", recs[2].Detail)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// chain encodes records as Append would: seq as given (1, 2, ... when
// zero), each line chained to the one before.
func chain(t *testing.T, recs ...Record) []byte {
	t.Helper()
	var data []byte
	last := ""
	for i, r := range recs {
		if r.Seq == 0 {
			r.Seq = uint64(i + 1)
		}
		if r.Kind == KindRun && r.Format == 0 {
			r.Format = FormatVersion
		}
		r.Prev = last
		line, err := Encode(r)
		must(t, err)
		last = LineHash(line)
		data = append(data, line...)
	}
	return data
}

// TestDamagedJournalsRefused: journals nrun cannot have written are
// refused by Read (status) and Open (resume), each with a reason. The
// lines are chained and checksummed correctly: only Check can tell.
func TestDamagedJournalsRefused(t *testing.T) {
	hdr := Record{Kind: KindRun, RunID: "r", Instances: []string{"step.a", "step.b"}}
	tests := map[string]struct {
		recs []Record
		want string
	}{
		"no header":       {recs: []Record{{Kind: KindIntent, Addr: "step.a"}}, want: "does not start with a run record"},
		"second header":   {recs: []Record{hdr, {Kind: KindRun, RunID: "r2"}}, want: "second run header"},
		"old format":      {recs: []Record{{Kind: KindRun, RunID: "r", Format: -1}}, want: "format -1, and this nrun reads format 1"},
		"seq gap":         {recs: []Record{hdr, {Seq: 3, Kind: KindIntent, Addr: "step.a"}}, want: "seq 3 where seq 2 was due"},
		"seq repeated":    {recs: []Record{hdr, {Seq: 1, Kind: KindIntent, Addr: "step.a"}}, want: "seq 1 where seq 2 was due"},
		"done no intent":  {recs: []Record{hdr, {Kind: KindActionDone, Addr: "step.a"}}, want: "action_done for step.a, whose action was never started"},
		"finished only":   {recs: []Record{hdr, {Kind: KindFinished, Addr: "step.b"}}, want: "finished for step.b, whose action was never started"},
		"wait no intent":  {recs: []Record{hdr, {Kind: KindWaitDone, Addr: "step.a"}}, want: "never started"},
		"unknown address": {recs: []Record{hdr, {Kind: KindIntent, Addr: "step.zz"}}, want: `about "step.zz", which is not an instance of the plan`},
		"after end":       {recs: []Record{hdr, {Kind: KindEnd, Status: StatusFailed}, {Kind: KindIntent, Addr: "step.a"}}, want: "follows the end record of a process; only a resume can"},
		"after abandon":   {recs: []Record{hdr, {Kind: KindAbandoned, User: "u"}, {Kind: KindResume, RunID: "r"}}, want: "follows the record that abandoned the run"},
		"resume of other": {recs: []Record{hdr, {Kind: KindResume, RunID: "x"}}, want: `resumes run "x" in the journal of run "r"`},
		"unknown kind":    {recs: []Record{hdr, {Kind: "teleport", Addr: "step.a"}}, want: "of a kind nrun does not write"},
		"bad end status":  {recs: []Record{hdr, {Kind: KindEnd, Status: "done"}}, want: `unknown status "done"`},
		// Resume plans may differ (the cluster moved): an address is
		// checked against the plan of the process that wrote it.
		"address of an earlier plan": {recs: []Record{hdr, {Kind: KindEnd, Status: StatusFailed}, {Kind: KindResume, RunID: "r", Instances: []string{"step.b"}}, {Kind: KindIntent, Addr: "step.a"}}, want: `about "step.a"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), FileName)
			must(t, os.WriteFile(p, chain(t, tc.recs...), 0o600))
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

// TestLineDamageRefused: a journal written by Append, then changed the
// ways a disk, a bad copy or a hand edit change it. Each is refused, and
// the message says where and that nrun will not act on it.
func TestLineDamageRefused(t *testing.T) {
	p0 := filepath.Join(t.TempDir(), FileName)
	j, err := Open(p0, nil)
	must(t, err)
	must(t, j.Append(Record{Kind: KindRun, RunID: "r", Instances: []string{"step.a", "step.b"}}))
	must(t, j.Append(Record{Kind: KindIntent, Addr: "step.a", Action: "exec", Attempt: 1}))
	must(t, j.Append(Record{Kind: KindActionDone, Addr: "step.a"}, Record{Kind: KindFinished, Addr: "step.a"}))
	must(t, j.Append(Record{Kind: KindIntent, Addr: "step.b", Action: "exec", Attempt: 1}))
	must(t, j.Close())
	data, _ := os.ReadFile(p0)
	lines := strings.SplitAfter(string(data), "\n")
	lines = lines[:len(lines)-1] // the empty string after the last newline
	join := func(ls ...string) []byte { return []byte(strings.Join(ls, "")) }
	tests := map[string]struct {
		data []byte
		want string
	}{
		"flipped byte mid-journal": {data: func() []byte {
			b := join(lines...)
			b[len(lines[0])+len(lines[1])+20] ^= 0x01
			return b
		}(), want: "damaged at line 3"},
		"deleted record":    {data: join(lines[0], lines[1], lines[3], lines[4]), want: "damaged at line 3"},
		"duplicated record": {data: join(lines[0], lines[1], lines[1], lines[2], lines[3], lines[4]), want: "damaged at line 3"},
		"swapped records":   {data: join(lines[0], lines[2], lines[1], lines[3], lines[4]), want: "damaged at line 2"},
		// A cut in the middle of a line, followed by the rest of the
		// file: a complete line that is garbage.
		"cut in the middle": {data: join(lines[0], lines[1][:30], lines[3], lines[4]), want: "damaged at line 2"},
		"blank line":        {data: join(lines[0], "\n", lines[1]), want: "damaged at line 2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), FileName)
			must(t, os.WriteFile(p, tc.data, 0o600))
			_, err := Read(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "will not act on the journal") {
				t.Errorf("Read: %v, want an error saying %q", err, tc.want)
			}
			j, err := Open(p, nil)
			if err == nil {
				j.Close()
				t.Fatal("Open accepted it")
			}
			if got, _ := os.ReadFile(p); string(got) != string(tc.data) {
				t.Error("Open changed a journal it refused")
			}
		})
	}
}

// TestRedactKeepsStructure: a secret's text that occurs in the runbook
// path, the run ID, the user or host is written as it is, or resume
// could not find the run (-var pw=admin, runbook under /home/admin/).
func TestRedactKeepsStructure(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	j, err := Open(p, func(s string) string { return strings.ReplaceAll(s, "admin", "<redacted>") })
	must(t, err)
	hdr := Record{Kind: KindRun, RunID: "r-admin", Runbook: "/home/admin/rb/main.nrun.hcl", Instances: []string{`step.a["admin"]`},
		User: "admin", Host: "admin-host", SourceHash: "admin", PlanHash: "admin"}
	must(t, j.Append(hdr, Record{Kind: KindIntent, Addr: `step.a["admin"]`, Action: "exec"},
		Record{Kind: KindFailed, Addr: `step.a["admin"]`, Error: "login admin refused", Detail: "admin"}))
	must(t, j.Close())
	recs, err := Read(p)
	must(t, err)
	got := recs[0]
	got.Seq, got.Time, got.Format = 0, hdr.Time, 0
	if !reflect.DeepEqual(got, hdr) {
		t.Errorf("header rewritten:\n got %+v\nwant %+v", got, hdr)
	}
	if recs[2].Error != "login <redacted> refused" || recs[2].Detail != "<redacted>" {
		t.Errorf("free text not redacted: %+v", recs[2])
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

// TestFailedWriteIsSticky: after one write fails, every later Append
// returns that first error and writes nothing, and the file holds only the
// records Append acknowledged.
func TestFailedWriteIsSticky(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	j, err := Open(p, nil)
	must(t, err)
	must(t, j.Append(Record{Kind: KindRun, RunID: "r", Instances: []string{"step.a"}}))
	j.SetFault(func(r Record) error {
		if r.Kind == KindIntent {
			return errors.New("injected: no space left on device")
		}
		return nil
	})
	first := j.Append(Record{Kind: KindIntent, Addr: "step.a"})
	if first == nil {
		t.Fatal("the injected fault did not fail Append")
	}
	j.SetFault(nil)
	if err := j.Append(Record{Kind: KindFailed, Addr: "step.a"}); err != first || j.Err() != first {
		t.Errorf("Append after a failed write: %v, want the first error %v", err, first)
	}
	j.Close()
	recs, err := Read(p)
	must(t, err)
	if len(recs) != 1 {
		t.Errorf("%d records on disk, want only the header", len(recs))
	}
	// The next process continues from the last good record.
	j, err = Open(p, nil)
	must(t, err)
	must(t, j.Append(Record{Kind: KindResume, RunID: "r", Instances: []string{"step.a"}}, Record{Kind: KindIntent, Addr: "step.a"}))
	j.Close()
	if recs, err := Read(p); err != nil || len(recs) != 3 {
		t.Errorf("after reopening: %d records, %v", len(recs), err)
	}
}

// TestPartialWriteAfterDiskFreed: a short write the process could not cut
// back (it died, or truncate failed too) is a final line without its
// newline; the next Open keeps it in a side file, truncates it, and the
// run goes on with a valid chain.
func TestPartialWriteAfterDiskFreed(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	j, err := Open(p, nil)
	must(t, err)
	must(t, j.Append(Record{Kind: KindRun, RunID: "r", Instances: []string{"step.a"}}, Record{Kind: KindIntent, Addr: "step.a"}))
	j.Close()
	good, _ := os.ReadFile(p)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	f.WriteString(`1234abcd {"seq":3,"prev":"`)
	f.Close()
	j, err = Open(p, nil)
	must(t, err)
	if j.TornFile() != p+".torn-3" {
		t.Errorf("torn tail kept in %q, want %q", j.TornFile(), p+".torn-3")
	}
	must(t, j.Append(Record{Kind: KindActionDone, Addr: "step.a"}))
	j.Close()
	data, _ := os.ReadFile(p)
	if !strings.HasPrefix(string(data), string(good)) || strings.Contains(string(data), "1234abcd") {
		t.Errorf("the next record was glued to the partial line:\n%s", data)
	}
	if recs, err := Read(p); err != nil || len(recs) != 3 {
		t.Errorf("%d records, %v", len(recs), err)
	}
}

// TestLegacyJournal: a journal of an nrun before format 1 (no format, no
// chain) is shown when its run finished, so upgrading does not make every
// old run block; when it has work left, it is refused with the way out.
func TestLegacyJournal(t *testing.T) {
	legacy := func(recs ...Record) []byte {
		var data []byte
		for i, r := range recs {
			r.Seq = uint64(i + 1)
			line, err := Encode(r)
			must(t, err)
			data = append(data, line...)
		}
		return data
	}
	hdr := Record{Kind: KindRun, RunID: "old", Instances: []string{"step.a"}}
	tests := map[string]struct {
		data []byte
		want string // "" when ReadContents accepts it
	}{
		"finished":   {data: legacy(hdr, Record{Kind: KindIntent, Addr: "step.a"}, Record{Kind: KindFinished, Addr: "step.a"}, Record{Kind: KindEnd, Status: StatusFinished})},
		"unfinished": {data: legacy(hdr, Record{Kind: KindIntent, Addr: "step.a"}), want: "no format version: an nrun older than journal format 1 wrote it"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), FileName)
			must(t, os.WriteFile(p, tc.data, 0o600))
			c, err := ReadContents(p)
			switch {
			case tc.want == "" && (err != nil || !c.Legacy || Replay(c.Records).Unfinished()):
				t.Errorf("ReadContents: %v, legacy %v", err, c.Legacy)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "abandon")):
				t.Errorf("ReadContents: %v, want %q", err, tc.want)
			}
			if j, err := Open(p, nil); err == nil {
				j.Close()
				t.Error("Open appends to a legacy journal")
			}
		})
	}
}

// TestOddTextReadsBack: exec output is written into Detail as it comes;
// invalid UTF-8 and characters JSON escapes must read back as a line nrun
// wrote, or Scan would call the journal damaged.
func TestOddTextReadsBack(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	j, err := Open(p, nil)
	must(t, err)
	must(t, j.Append(Record{Kind: KindRun, RunID: "r", Instances: []string{"step.a"}}, Record{Kind: KindIntent, Addr: "step.a"},
		Record{Kind: KindActionDone, Addr: "step.a", Detail: "bin \xff\xfe\x00 <tag> & \u2028 \ufffd \"q\" \\"}))
	j.Close()
	recs, err := Read(p)
	must(t, err)
	if got := recs[2].Detail; got != "bin \ufffd\x00 <tag> & \u2028 \ufffd \"q\" \\" {
		t.Errorf("detail read back as %q", got)
	}
	if got := j.Records()[2].Detail; got != recs[2].Detail {
		t.Errorf("Records has %q, the file %q", got, recs[2].Detail)
	}
}
