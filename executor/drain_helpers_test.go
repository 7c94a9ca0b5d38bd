package executor

import (
	"fmt"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// drainRunbook drains the nodes of pool, parallel at a time (drain
// deadline deadline, node_drained timeout drained), and makes each
// eligible again.
func drainRunbook(pool string, parallel int, deadline, drained string) string {
	return fmt.Sprintf(`
data "nomad_nodes" %[1]q {
  node_pool = %[1]q
}
step "cycle" {
  for_each     = data.nomad_nodes.%[1]s.by_name
  max_parallel = %[2]d
  step "drain" {
    action "nomad_node_drain" {
      deadline = %[3]q
    }
    wait "node_drained" {
      timeout = %[4]q
    }
  }
  step "enable" {
    depends_on = [step.drain]
    action "nomad_node_eligibility" {
      eligible = true
    }
    wait "node_ready" {
      timeout = "1m"
    }
  }
}
`, pool, parallel, deadline, drained)
}

// drainObserver follows nodes with its own blocking queries (on a client
// of its own, so a counting proxy does not see them) and notes when it
// first sees a drain that started after since complete: the moment "the
// drain completed" as any API client can know it (Nomad records
// LastDrain.UpdatedAt to the second only).
type drainObserver struct {
	stop chan struct{}
	mu   sync.Mutex
	seen map[string]time.Time
}

// observeDrains starts one observer per node (name to node ID).
func observeDrains(c *nomad.Client, nodes map[string]string, since time.Time) *drainObserver {
	o := &drainObserver{stop: make(chan struct{}), seen: map[string]time.Time{}}
	for name, id := range nodes {
		go func() {
			idx := uint64(0)
			for {
				n, qm, err := c.Nodes().Info(id, &nomad.QueryOptions{WaitIndex: idx, WaitTime: 5 * time.Second, AllowStale: true})
				select {
				case <-o.stop:
					return
				default:
				}
				if err != nil {
					// Back off before asking again; stop ends the wait.
					select {
					case <-o.stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
					continue
				}
				if n.DrainStrategy == nil && n.LastDrain != nil && n.LastDrain.Status == nomad.DrainStatusComplete && n.LastDrain.StartedAt.After(since) {
					o.mu.Lock()
					if _, ok := o.seen[name]; !ok {
						o.seen[name] = time.Now()
					}
					o.mu.Unlock()
				}
				idx = qm.LastIndex
			}
		}()
	}
	return o
}

// close stops the observers (each ends at its next answer).
func (o *drainObserver) close() { close(o.stop) }

// reactions are, for each node, the time from the observer seeing its
// drain complete to the start of its next step (step.cycle[name].step.enable
// in ev); a node without either is an error, reported with label.
func (o *drainObserver) reactions(t testing.TB, label string, nodes map[string]string, ev *eventLog) []time.Duration {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []time.Duration
	for name := range nodes {
		var next time.Time
		for _, x := range ev.ev {
			if x.Kind == EventStart && x.Addr == fmt.Sprintf(`step.cycle[%q].step.enable`, name) {
				next = x.Time
			}
		}
		done, ok := o.seen[name]
		if !ok || next.IsZero() {
			t.Errorf("%s node %s: observer %v, next step %v", label, name, done, next)
			continue
		}
		out = append(out, next.Sub(done))
	}
	return out
}

// sleepJob is a service job of count raw_exec sleeps on pool, migrated
// maxParallel at a time once each is healthy for half a second.
func sleepJob(name, pool string, count, maxParallel int) *nomad.Job {
	j := nomad.NewServiceJob(name, name, "global", 50)
	j.Datacenters = []string{"dc1"}
	j.NodePool = &pool
	tg := nomad.NewTaskGroup(name, count)
	tg.Migrate = &nomad.MigrateStrategy{MaxParallel: ptr(maxParallel), HealthCheck: ptr("task_states"),
		MinHealthyTime: ptr(500 * time.Millisecond), HealthyDeadline: ptr(30 * time.Second)}
	task := nomad.NewTask("sleep", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"3600"})
	task.Resources = &nomad.Resources{CPU: ptr(20), MemoryMB: ptr(16)}
	task.KillTimeout = ptr(time.Second)
	tg.AddTask(task)
	j.AddTaskGroup(tg)
	return j
}
