package sandbox

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// A fleet is a sandbox with many clients spread over node pools (and
// datacenters), running service jobs whose allocations a drain of one pool
// moves onto the others: what the fleet-scale benchmarks measure.

// SpreadClients puts the spec's clients in pools and datacenters round
// robin: client i (from 0) joins pools[i mod P] and datacenters[(i div P)
// mod D], so every pool spans every datacenter and the pools are the same
// size when P divides the number of clients. An empty list leaves that
// attribute as it is.
func (s *Spec) SpreadClients(pools, datacenters []string) {
	for i := range s.Clients {
		if len(pools) > 0 {
			s.Clients[i].NodePool = pools[i%len(pools)]
		}
		if len(datacenters) > 0 {
			p := max(len(pools), 1)
			s.Clients[i].Datacenter = datacenters[(i/p)%len(datacenters)]
		}
	}
}

// Fleet job IDs.
const (
	FleetWeb    = "fleet-web"
	FleetAPI    = "fleet-api"
	FleetWorker = "fleet-worker"
)

// FleetJobs are the fleet's demo service jobs for a sandbox of clients
// client nodes: together about one allocation per client (four in ten to
// fleet-web, three in ten to fleet-api, the rest to fleet-worker, at least
// one each). They run in node pool "all" and spread over node pools, so a
// drain of one pool moves their allocations to the others, each job at its
// own pace:
//
//   - fleet-web: update and migrate max_parallel 2.
//   - fleet-api: migrate max_parallel 2, update max_parallel 1.
//   - fleet-worker: migrate max_parallel 3, update max_parallel 1.
//
// Replacements count as healthy after 2s of running (min_healthy_time),
// so a drain's length is the jobs' pace, not Nomad's 10s default.
func FleetJobs(clients int) []*api.Job {
	web := max((4*clients+9)/10, 1)
	apiN := max((3*clients+9)/10, 1)
	worker := max(clients-web-apiN, 1)
	return []*api.Job{
		fleetJob(FleetWeb, web, 2, 2),
		fleetJob(FleetAPI, apiN, 2, 1),
		fleetJob(FleetWorker, worker, 3, 1),
	}
}

func fleetJob(id string, count, migrate, update int) *api.Job {
	job := api.NewServiceJob(id, id, "global", 50)
	job.Datacenters = []string{"*"}
	job.NodePool = ref("all")
	task := api.NewTask("sleep", "raw_exec").
		SetConfig("command", "/bin/sh").
		SetConfig("args", []string{"-c", "echo " + id + " running; exec sleep 86400"}).
		Require(&api.Resources{CPU: ref(20), MemoryMB: ref(16)})
	group := api.NewTaskGroup(strings.TrimPrefix(id, "fleet-"), count).AddTask(task)
	group.Spreads = []*api.Spread{{Attribute: "${node.pool}", Weight: ref(int8(100))}}
	group.Migrate = &api.MigrateStrategy{
		MaxParallel:     ref(migrate),
		HealthCheck:     ref("task_states"),
		MinHealthyTime:  ref(2 * time.Second),
		HealthyDeadline: ref(time.Minute),
	}
	group.Update = &api.UpdateStrategy{
		MaxParallel:      ref(update),
		HealthCheck:      ref("task_states"),
		MinHealthyTime:   ref(2 * time.Second),
		HealthyDeadline:  ref(time.Minute),
		ProgressDeadline: ref(2 * time.Minute),
	}
	// A task that dies is restarted in place, as a real service would be;
	// it is not what a drain benchmark measures.
	group.RestartPolicy = &api.RestartPolicy{Attempts: ref(3), Interval: ref(time.Minute), Delay: ref(time.Second), Mode: ref("fail")}
	job.AddTaskGroup(group)
	return job
}

// RunFleetJobs sets the cluster's scheduler to spread allocations over
// nodes (Nomad's default bin-packing would stack them on a few clients),
// registers jobs (FleetJobs for the sandbox's clients when nil) and waits
// until every allocation of each runs and its deployment has succeeded, or
// ctx ends.
func (c *Cluster) RunFleetJobs(ctx context.Context, jobs []*api.Job) error {
	c.mu.Lock()
	clients := len(c.agents(NomadClient))
	c.mu.Unlock()
	if clients == 0 {
		return fmt.Errorf("the sandbox has no client to run the fleet jobs on")
	}
	if jobs == nil {
		jobs = FleetJobs(clients)
	}
	nc, err := c.NomadClient()
	if err != nil {
		return err
	}
	t0 := time.Now()
	cfg, _, err := nc.Operator().SchedulerGetConfiguration(nil)
	if err != nil {
		return fmt.Errorf("read the scheduler configuration: %w", err)
	}
	if sc := cfg.SchedulerConfig; sc != nil && sc.SchedulerAlgorithm != api.SchedulerAlgorithmSpread {
		sc.SchedulerAlgorithm = api.SchedulerAlgorithmSpread
		if _, _, err := nc.Operator().SchedulerSetConfiguration(sc, nil); err != nil {
			return fmt.Errorf("set the spread scheduler: %w", err)
		}
	}
	want := map[string]int{}
	for _, j := range jobs {
		if _, _, err := nc.Jobs().Register(j, nil); err != nil {
			return fmt.Errorf("register the %s job: %w", *j.ID, err)
		}
		n := 0
		for _, g := range j.TaskGroups {
			n += *g.Count
		}
		want[*j.ID] = n
	}
	if err := waitJobsSettled(ctx, nc, want); err != nil {
		return err
	}
	c.phase("fleet jobs", t0)
	return nil
}

// WaitJobsSettled waits until each job of want runs exactly its count of
// allocations, all healthy, with no allocation still to stop, and its
// latest deployment (if any) successful: the state a drain or a rollout
// is over in.
func WaitJobsSettled(ctx context.Context, nc *api.Client, want map[string]int) error {
	return waitJobsSettled(ctx, nc, want)
}

func waitJobsSettled(ctx context.Context, nc *api.Client, want map[string]int) error {
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var last string
	for {
		last = ""
		for _, id := range ids {
			if msg := jobSettled(ctx, nc, id, want[id]); msg != "" {
				last = msg
				break
			}
		}
		if last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fleet jobs not settled: %s: %w", last, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// jobSettled returns "" when job id has settled as WaitJobsSettled says,
// else what it waits for.
func jobSettled(ctx context.Context, nc *api.Client, id string, count int) string {
	q := (&api.QueryOptions{}).WithContext(ctx)
	allocs, _, err := nc.Jobs().Allocations(id, false, q)
	if err != nil {
		return fmt.Sprintf("%s: %v", id, err)
	}
	running, other := 0, 0
	for _, a := range allocs {
		switch {
		case a.ClientStatus == api.AllocClientStatusRunning && a.DesiredStatus == api.AllocDesiredStatusRun:
			// The client marks an allocation healthy (or not) after
			// min_healthy_time, for a deployment and for a migration.
			if h := a.DeploymentStatus; h == nil || h.Healthy == nil || !*h.Healthy {
				return fmt.Sprintf("%s: allocation %s not healthy yet", id, a.ID[:8])
			}
			running++
		case a.ClientStatus == api.AllocClientStatusPending || a.ClientStatus == api.AllocClientStatusRunning:
			other++
		}
	}
	if running != count || other > 0 {
		return fmt.Sprintf("%s: %d of %d allocations running, %d pending or stopping", id, running, count, other)
	}
	d, _, err := nc.Jobs().LatestDeployment(id, q)
	if err != nil {
		return fmt.Sprintf("%s: %v", id, err)
	}
	if d != nil && d.Status != api.DeploymentStatusSuccessful {
		return fmt.Sprintf("%s: deployment %s %s", id, d.ID[:8], d.Status)
	}
	return ""
}
