package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/operation"
	"github.com/nrun-dev/nrun/planner"
)

// fuzzRunbook touches every part of a view the planner reads: servers by
// name and the leader (leader_last), client nodes, Consul servers.
const fuzzRunbook = `
data "nomad_servers" "all" {}
data "nomad_nodes" "all" {}
data "consul_servers" "all" {}

step "upgrade" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  precondition "quorum_ok" {}
  action "exec" {
    command = ["true", each.value.host]
    effect  = "restart"
  }
  wait "server_healthy" { timeout = "1m" }
}

step "drain" {
  for_each = data.nomad_nodes.all.by_name
  action "nomad_node_drain" { deadline = "1m" }
}

step "consul" {
  for_each = data.consul_servers.all.by_name
  order    = "leader_last"
  action "consul_maintenance" {
    enable = true
    reason = "x"
  }
}
`

// FuzzInventory: no inventory file, however damaged, may panic nrun plan:
// reading, validating and planning a runbook against it.
func FuzzInventory(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/inventory/*.json")
	if len(seeds) == 0 {
		f.Fatal("no seed inventories in testdata/inventory")
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`{"nomad":{"raft":{"servers":[null]}}}`))
	rb, diags := lang.Parse(map[string][]byte{"fuzz.nrun.hcl": []byte(fuzzRunbook)})
	if diags.HasErrors() {
		f.Fatal(diags.Error())
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "inv.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		view, d := operation.ReadInventory(path)
		if d.HasErrors() {
			if view != nil {
				t.Fatal("an inventory with errors was returned")
			}
			return
		}
		p, _ := planner.Resolve(rb, nil, view, planner.ResolveOptions{Salt: []byte("fuzz")})
		if p == nil {
			t.Fatal("Resolve returned no plan")
		}
	})
}
