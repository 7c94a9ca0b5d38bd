package sandbox

import (
	"context"
	"fmt"
	"time"
)

// StopClient stops a Nomad client with SIGTERM, as an operator stops the
// service to swap its binary: its data_dir is kept, and the tasks it runs
// are left alone (a client that comes back reattaches to them). The
// servers keep its node record, still "ready", until they miss its
// heartbeat. It waits for the process to exit (SIGKILL after 30s).
func (c *Cluster) StopClient(ctx context.Context, name string) error {
	return c.stopAgent(ctx, nomadClients, name)
}

// StartClient starts a stopped Nomad client on its old data_dir and ports.
// A non-empty version swaps the binary first: the restart step of a client
// upgrade. It returns once the servers hold a node record the client
// registered after this start (its status changed since), ready, on that
// version, with raw_exec healthy: the record from before the stop, which
// also reads ready, does not count.
func (c *Cluster) StartClient(ctx context.Context, name, version string) error {
	return c.startAgent(ctx, nomadClients, name, version)
}

// waitClientBack waits until the servers hold a.Name's node registered at
// or after since (Nomad keeps the status time in whole seconds), ready, on
// a.Version, with raw_exec healthy.
func (c *Cluster) waitClientBack(ctx context.Context, a *Agent, since time.Time) error {
	return c.waitFor(ctx, fmt.Sprintf("client %s to register again on %s", a.Name, a.Version), func() (bool, string) {
		if !c.running(a) {
			return false, fmt.Sprintf("client %s is not running (see its log)", a.Name)
		}
		s := c.firstRunningLive(NomadServer)
		if s == nil {
			return false, "no Nomad server"
		}
		cl, err := c.nomadAPI(s)
		if err != nil {
			return false, err.Error()
		}
		stubs, _, err := cl.Nodes().List(nil)
		if err != nil {
			return false, err.Error()
		}
		for _, st := range stubs {
			if st.Name != a.Name {
				continue
			}
			n, _, err := cl.Nodes().Info(st.ID, nil)
			if err != nil {
				return false, err.Error()
			}
			d := n.Drivers["raw_exec"]
			raw := d != nil && d.Detected && d.Healthy
			seen := fmt.Sprintf("%s: status %s since %s, version %s, raw_exec=%v", a.Name, n.Status,
				time.Unix(n.StatusUpdatedAt, 0).UTC().Format(time.TimeOnly), n.Attributes["nomad.version"], raw)
			ok := n.Status == "ready" && raw && n.Attributes["nomad.version"] == a.Version &&
				n.StatusUpdatedAt >= since.Unix()
			return ok, seen
		}
		return false, a.Name + " is not a node yet"
	})
}
