package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
)

// DemoJob is the ID of the service job RunDemoJob registers.
const DemoJob = "demo"

// demoJob is a small raw_exec service, one allocation per client, so a
// procedure run against the sandbox has workloads to keep alive.
func demoJob(count int) *api.Job {
	job := api.NewServiceJob(DemoJob, DemoJob, "global", 50)
	job.Datacenters = []string{"*"}
	task := api.NewTask("sleep", "raw_exec").
		SetConfig("command", "/bin/sh").
		SetConfig("args", []string{"-c", "echo demo running; exec sleep 86400"}).
		Require(&api.Resources{CPU: ref(20), MemoryMB: ref(16)})
	group := api.NewTaskGroup("demo", count).AddTask(task)
	job.AddTaskGroup(group)
	return job
}

func ref[T any](v T) *T { return &v }

// RunDemoJob registers the demo job with one allocation per client (at
// least one) and waits until they all run, or ctx ends.
func (c *Cluster) RunDemoJob(ctx context.Context) error {
	c.mu.Lock()
	count := len(c.agents(NomadClient))
	c.mu.Unlock()
	if count == 0 {
		return fmt.Errorf("the sandbox has no client to run the %s job on", DemoJob)
	}
	nc, err := c.NomadClient()
	if err != nil {
		return err
	}
	if _, _, err := nc.Jobs().Register(demoJob(count), nil); err != nil {
		return fmt.Errorf("register the %s job: %w", DemoJob, err)
	}
	for {
		allocs, _, err := nc.Jobs().Allocations(DemoJob, false, (&api.QueryOptions{}).WithContext(ctx))
		running := 0
		if err == nil {
			for _, a := range allocs {
				if a.ClientStatus == api.AllocClientStatusRunning {
					running++
				}
			}
		}
		if running >= count {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the %s job: %d of %d allocations running: %w", DemoJob, running, count, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
