package e2etest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// WaitNodes waits until n client nodes are ready and returns them sorted
// by name.
func (e *Env) WaitNodes(n int) []*nomad.NodeListStub {
	e.T.Helper()
	var nodes []*nomad.NodeListStub
	Eventually(e.T, fmt.Sprintf("%d ready nodes", n), 2*time.Minute, func() (bool, string) {
		list, _, err := e.Nomad().Nodes().List(nil)
		if err != nil {
			return false, err.Error()
		}
		nodes = nodes[:0]
		for _, nd := range list {
			if nd.Status == nomad.NodeStatusReady {
				nodes = append(nodes, nd)
			}
		}
		return len(nodes) == n, fmt.Sprintf("%d ready", len(nodes))
	})
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes
}

// ApplyEvent is one message of nrun apply -json (docs/json-stream.md).
type ApplyEvent struct {
	Time     time.Time `json:"@timestamp"`
	Kind     string    `json:"type"`
	Instance struct {
		Addr string `json:"addr"`
	} `json:"instance"`
}

// ApplyEventList is the events of one apply, in order.
type ApplyEventList []ApplyEvent

// First is the time of addr's first event of kind, zero if none.
func (l ApplyEventList) First(addr, kind string) time.Time {
	for _, ev := range l {
		if ev.Instance.Addr == addr && ev.Kind == kind {
			return ev.Time
		}
	}
	return time.Time{}
}

// ApplyEvents parses the stdout of nrun apply -json.
func ApplyEvents(t *testing.T, stdout string) ApplyEventList {
	t.Helper()
	var out ApplyEventList
	for _, line := range strings.Split(stdout, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var ev ApplyEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("apply -json printed a line that is not an event: %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}

// CopyRunbook copies files of runbooks/ into dir/runbooks and returns the
// path of the first.
func CopyRunbook(t testing.TB, dir string, files ...string) string {
	t.Helper()
	dst := filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(RunbooksDir(t), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dst, files[0])
}

// TrimRegion is a Nomad server's name without its region (s1.global: s1).
func TrimRegion(name string) string {
	n, _, _ := strings.Cut(name, ".")
	return n
}
