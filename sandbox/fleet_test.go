package sandbox_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestSpreadClients: pools round robin, datacenters round robin after the
// pools, so every pool spans every datacenter.
func TestSpreadClients(t *testing.T) {
	s := sandbox.DefaultSpec("", 1, 8, 0, "")
	s.SpreadClients([]string{"a", "b"}, []string{"dc1", "dc2"})
	var got []string
	for _, c := range s.Clients {
		got = append(got, c.Name+":"+c.NodePool+"/"+c.Datacenter)
	}
	want := []string{"c1:a/dc1", "c2:b/dc1", "c3:a/dc2", "c4:b/dc2", "c5:a/dc1", "c6:b/dc1", "c7:a/dc2", "c8:b/dc2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	s = sandbox.DefaultSpec("", 1, 2, 0, "")
	s.SpreadClients(nil, nil)
	if s.Clients[0].NodePool != "" || s.Clients[0].Datacenter != "" {
		t.Fatalf("empty lists must leave clients as they are: %+v", s.Clients[0])
	}
}

// TestFleetJobsShape: about one allocation per client over three jobs in
// node pool "all", two of them with migrate max_parallel 2.
func TestFleetJobsShape(t *testing.T) {
	for _, clients := range []int{1, 6, 60} {
		jobs := sandbox.FleetJobs(clients)
		total, mp2 := 0, 0
		for _, j := range jobs {
			if j.NodePool == nil || *j.NodePool != "all" {
				t.Errorf("%s: node pool %v, want all", *j.ID, j.NodePool)
			}
			g := j.TaskGroups[0]
			total += *g.Count
			if *g.Migrate.MaxParallel == 2 {
				mp2++
			}
		}
		if total < clients || total > clients+2 {
			t.Errorf("%d clients: %d allocations, want about one per client", clients, total)
		}
		if mp2 != 2 {
			t.Errorf("%d clients: %d jobs with migrate max_parallel 2, want 2", clients, mp2)
		}
	}
}

// TestFleetPools starts a small fleet (six clients in pools a and b, over two
// datacenters), runs the fleet jobs, and checks that every job has
// allocations in both pools.
func TestFleetPools(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents")
	}
	sandboxtest.Timer(t)
	spec := sandbox.DefaultSpec("", 1, 6, 0, sandbox.DefaultNomadVersion)
	spec.SpreadClients([]string{"a", "b"}, []string{"dc1", "dc2"})
	c := sandboxtest.New(t, spec)
	if err := c.RunFleetJobs(ctxFor(t, 3*time.Minute), nil); err != nil {
		t.Fatalf("%v\n%s", err, c.LogTails(30))
	}
	nc, err := c.NomadClient()
	if err != nil {
		t.Fatal(err)
	}
	nodes, _, err := nc.Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	pool, dcs := map[string]string{}, map[string]bool{}
	for _, n := range nodes {
		pool[n.ID] = n.NodePool
		dcs[n.Datacenter] = true
	}
	if len(nodes) != 6 || !dcs["dc1"] || !dcs["dc2"] {
		t.Fatalf("want 6 nodes over dc1 and dc2, got %d over %v", len(nodes), dcs)
	}
	allocs, _, err := nc.Allocations().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	pools := map[string]map[string]int{}
	for _, a := range allocs {
		if a.ClientStatus != api.AllocClientStatusRunning {
			continue
		}
		if pools[a.JobID] == nil {
			pools[a.JobID] = map[string]int{}
		}
		pools[a.JobID][pool[a.NodeID]]++
	}
	for _, j := range sandbox.FleetJobs(6) {
		if *j.TaskGroups[0].Count < 2 {
			continue
		}
		if p := pools[*j.ID]; p["a"] == 0 || p["b"] == 0 {
			t.Errorf("%s: running allocations by pool %v, want some in a and in b", *j.ID, p)
		}
	}
}
