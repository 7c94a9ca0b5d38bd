package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "inventory", Synopsis: "Save a snapshot of the cluster for offline planning", Run: runInventory})
}

const inventoryHelp = `Usage: nrun inventory [options] [PATH]

  Reads the cluster once and prints the snapshot as JSON: the Nomad
  servers (Raft configuration, autopilot health, members, leader), the
  client nodes, and with -consul or a runbook that needs it the Consul
  servers. 'nrun plan -inventory FILE' plans against it without a
  cluster. Tokens are never written.

  With a runbook PATH, the snapshot holds what planning that runbook
  reads (its nomad {} and consul {} settings, its data sources, the jobs
  it names). Without, it holds every client node. Addresses and tokens
  come from NOMAD_ADDR, NOMAD_TOKEN, CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN
  and the other standard variables.

Options:

  -out FILE          Write the snapshot to FILE instead of stdout.
  -consul            Also read Consul (implied by a runbook that uses it).
  -var 'NAME=VALUE'  Set an input variable of the runbook. Repeatable.
  -var-file FILE     Read input variables from an HCL file. Repeatable.
                     NRUN_VAR_NAME=VALUE in the environment sets one
                     too, below -var-file and -var.
  -no-color          Disable colour in diagnostics.

Exit codes:
  0  the snapshot was written
  1  the cluster could not be read, the runbook is invalid, or bad usage
`

type inventoryArgs struct {
	Out      string
	Consul   bool
	NoColor  bool
	Vars     []string
	VarFiles []string
	Path     string
}

func parseInventoryArgs(args []string) (inventoryArgs, error) {
	var a inventoryArgs
	fs := newFlagSet("inventory")
	fs.StringVar(&a.Out, "out", "", "")
	fs.BoolVar(&a.Consul, "consul", false, "")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	fs.Var((*varFlag)(&a.Vars), "var", "")
	fs.Var((*repeated)(&a.VarFiles), "var-file", "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	switch fs.NArg() {
	case 0:
	case 1:
		a.Path = fs.Arg(0)
	default:
		return a, fmt.Errorf("inventory takes at most one runbook PATH, got %d", fs.NArg())
	}
	return a, nil
}

func runInventory(s *streams, args []string) int {
	a, err := parseInventoryArgs(args)
	if err != nil {
		return usageError(s, "inventory", inventoryHelp, err)
	}
	var diags hcl.Diagnostics
	var files map[string]*hcl.File
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	var view *cluster.View
	if a.Path != "" {
		rb, d := lang.Load(a.Path)
		diags = append(diags, d...)
		var inputs map[string]cty.Value
		if rb != nil {
			files = rb.Files
			inputs, d = inputValues(s, rb, a.Vars, a.VarFiles)
			diags = append(diags, d...)
		}
		if !diags.HasErrors() {
			var cfg cluster.Config
			cfg, d = planner.ClusterConfig(rb, inputs)
			diags = append(diags, d...)
			opts, d2 := planner.SnapshotOptionsFor(rb, inputs)
			diags = append(diags, d2...)
			opts.Consul = opts.Consul || a.Consul
			if !diags.HasErrors() {
				view, d = snapshot(ctx, s, cfg, opts)
				diags = append(diags, d...)
			}
		}
	} else {
		view, diags = snapshot(ctx, s, cluster.Config{}, cluster.SnapshotOptions{Nomad: true, Consul: a.Consul, Nodes: true})
	}
	if diags.HasErrors() || view == nil {
		views.Diagnostics(s.Stderr, diags, withSources(files, diags), views.DiagnosticsOptions{Color: diagColor(s, a.NoColor), Width: views.DiagnosticWidth})
		return exitError
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(view); err != nil {
		fmt.Fprintf(s.Stderr, "nrun inventory: %v\n", err)
		return exitError
	}
	if a.Out == "" {
		s.Stdout.Write(buf.Bytes())
		return exitOK
	}
	if err := os.WriteFile(a.Out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintf(s.Stderr, "nrun inventory: cannot write the snapshot: %v\n", err)
		return exitError
	}
	return exitOK
}

func snapshot(ctx context.Context, s *streams, cfg cluster.Config, opts cluster.SnapshotOptions) (*cluster.View, hcl.Diagnostics) {
	c, err := cluster.New(cfg, cluster.WithGetenv(s.Getenv))
	if err != nil {
		return nil, cluster.Diagnostics(err)
	}
	// An inventory is planned on later: a Raft peer must be named, as for
	// a live plan.
	v, err := c.SnapshotSettled(ctx, opts, planner.SettleWait, 500*time.Millisecond)
	return v, cluster.Diagnostics(err)
}
