package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestViewValidate(t *testing.T) {
	tests := map[string]struct {
		view string // JSON
		want []string
	}{
		"sound": {
			view: `{"nomad":{"raft":{"servers":[{"id":"a","name":"s1","leader":true},{"id":"b","name":"s2"}]},"nodes":[{"id":"n1","name":"c1"}]}}`,
		},
		"null server": {
			view: `{"nomad":{"raft":{"servers":[null,{"id":"b","name":"s2"}]}}}`,
			want: []string{"nomad.raft.servers[0] has no name"},
		},
		"duplicate names": {
			view: `{"nomad":{"raft":{"servers":[{"id":"a","name":"s1"},{"id":"b","name":"s1"}]}}}`,
			want: []string{`nomad.raft.servers[1] and nomad.raft.servers[0] are both named "s1"`},
		},
		"duplicate ids": {
			view: `{"consul":{"raft":{"servers":[{"id":"a","name":"c1"},{"id":"a","name":"c2"}]}}}`,
			want: []string{`consul.raft.servers[1] and consul.raft.servers[0] have the same id "a"`},
		},
		"three leaders": {
			view: `{"nomad":{"raft":{"servers":[{"name":"s1","leader":true},{"name":"s2","leader":true},{"name":"s3","leader":true}]}}}`,
			want: []string{"nomad.raft.servers has 3 leaders"},
		},
		"unnamed node": {
			view: `{"nomad":{"nodes":[{"id":"n1"},{"id":"n1","name":"c1"}]}}`,
			want: []string{"nomad.nodes[0] has no name", `nomad.nodes[1] and nomad.nodes[0] have the same id "n1"`},
		},
		"duplicate consul node": {
			view: `{"consul":{"nodes":[{"name":"x"},{"name":"x"}]}}`,
			want: []string{`consul.nodes[1] and consul.nodes[0] are both named "x"`},
		},
		"null": {
			view: `null`,
			want: []string{"the inventory is empty"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var v *View
			if err := json.Unmarshal([]byte(tc.view), &v); err != nil {
				t.Fatal(err)
			}
			errs := v.Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("got %v, want %d problems %q", errs, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, errs[i], w)
				}
			}
		})
	}
}

// Every saved inventory of the repository is sound.
func TestViewValidateInventories(t *testing.T) {
	files, err := filepath.Glob("../testdata/inventory/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no inventories: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v View
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if errs := v.Validate(); len(errs) != 0 {
			t.Errorf("%s: %v", f, errs)
		}
	}
}
