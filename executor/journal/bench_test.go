package journal

import (
	"path/filepath"
	"testing"
)

// BenchmarkAppend is the journal's share of a step: one record written
// and fsynced, as the executor writes an intent.
func BenchmarkAppend(b *testing.B) {
	j, err := Open(filepath.Join(b.TempDir(), FileName), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	addrs := []string{`step.drain["node-1"]`}
	if err := j.Append(Record{Kind: KindRun, RunID: "r", Instances: addrs}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := j.Append(Record{Kind: KindIntent, Addr: addrs[0], Action: "exec", Attempt: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
