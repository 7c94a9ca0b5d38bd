package lang

import (
	"sort"
	"testing"
)

func TestDecodeDataSource(t *testing.T) {
	rb := mustParse(t, `
data "nomad_nodes" "blue" {
  node_pool = "blue"
  meta      = { rack = "r1" }
}
data "consul_servers" "dc1" {
  datacenter = "dc1"
}
data "nomad_servers" "all" {}
`)
	tests := map[string]struct {
		typ     DataSourceType
		filters []string
	}{
		"data.nomad_nodes.blue":   {DataNomadNodes, []string{"meta", "node_pool"}},
		"data.consul_servers.dc1": {DataConsulServers, []string{"datacenter"}},
		"data.nomad_servers.all":  {DataNomadServers, nil},
	}
	for addr, tc := range tests {
		t.Run(addr, func(t *testing.T) {
			d := rb.DataSource(addr)
			if d == nil {
				t.Fatal("not found")
			}
			if d.Type != tc.typ || d.Addr() != addr {
				t.Errorf("type %s addr %s", d.Type, d.Addr())
			}
			var got []string
			for k := range d.Filters {
				got = append(got, k)
			}
			sort.Strings(got)
			if len(got) != len(tc.filters) {
				t.Fatalf("filters %v, want %v", got, tc.filters)
			}
			for i := range got {
				if got[i] != tc.filters[i] {
					t.Errorf("filters %v, want %v", got, tc.filters)
				}
			}
		})
	}
	// Filters are type-checked by Validate; these are all fine.
	if diags := Validate(rb, nil); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
}
