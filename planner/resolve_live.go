package planner

import (
	"context"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// SettleWait is how long LiveView reads the cluster again while its
// answer is in flux (cluster.Client.SnapshotSettled): a server error from
// an agent whose server is restarting or electing, or a Raft peer without
// a name. A plan, and above all a resume made right after nrun was
// stopped in the middle of a restart, is made on the settled view instead
// of failing, or keying a server "(unknown)" in this plan and by its name
// in the next (a resume would see a new instance for a server it had
// already handled).
const SettleWait = 30 * time.Second

// LiveView reads the view Resolve needs for rb from the live cluster, in
// one snapshot: the addresses come from the runbook's nomad {} and consul
// {} blocks, then getenv (NOMAD_ADDR, CONSUL_HTTP_ADDR, ...), and what is
// read from SnapshotOptionsFor. One discovery per data source, however
// many steps use it. Cluster problems come back as sourceless
// diagnostics that say which address was tried and what to check; the
// view holds whatever could be read.
func LiveView(ctx context.Context, rb *lang.Runbook, inputs map[string]cty.Value, getenv func(string) string, opts ...cview.Option) (*cview.View, hcl.Diagnostics) {
	cfg, diags := ClusterConfig(rb, inputs)
	sopts, d := SnapshotOptionsFor(rb, inputs)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	if getenv != nil {
		opts = append([]cview.Option{cview.WithGetenv(getenv)}, opts...)
	}
	c, err := cview.New(cfg, opts...)
	if err != nil {
		return nil, append(diags, cview.Diagnostics(err)...)
	}
	view, err := c.SnapshotSettled(ctx, sopts, SettleWait, 500*time.Millisecond)
	return view, append(diags, cview.Diagnostics(err)...)
}
