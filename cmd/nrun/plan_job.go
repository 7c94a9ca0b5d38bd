package main

import (
	"context"
	"os/signal"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// previewJobs has the servers plan every nomad_job_run of p (the job diff
// in the plan, and the JobModifyIndex apply registers with). offline marks
// the previews as unavailable instead (a plan from -inventory). Problems
// are warnings recorded in p; only a configuration error comes back.
func previewJobs(s *streams, rb *lang.Runbook, inputs map[string]cty.Value, p *planner.Plan, runbookPath string, offline bool) hcl.Diagnostics {
	if !hasJobRun(p) {
		return nil
	}
	base := runbookBaseDir(runbookPath)
	if offline {
		return planner.PreviewJobs(context.Background(), p, nil, base)
	}
	cfg, diags := planner.ClusterConfig(rb, inputs)
	if diags.HasErrors() {
		return diags
	}
	c, err := cluster.New(cfg, cluster.WithGetenv(s.Getenv))
	if err != nil {
		return cluster.Diagnostics(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return planner.PreviewJobs(ctx, p, c, base)
}

func hasJobRun(p *planner.Plan) bool {
	for _, in := range p.Instances {
		if in.Action != nil && in.Action.Type == "nomad_job_run" {
			return true
		}
	}
	return false
}
