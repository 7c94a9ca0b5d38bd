package cluster

import (
	"context"
	"net/url"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

// The Wait functions are single blocking queries: each returns as soon as
// the object changes past index, or after the client's wait time with the
// same index. Pass 0 to read at once. A caller loops, re-evaluating its
// check on every answer, until the check holds or its own timeout ends
// (cancel ctx). They do not retry; a failed read is an *Error.

func (c *Client) blockingNomad(ctx context.Context, index uint64) *nomad.QueryOptions {
	q := &nomad.QueryOptions{AllowStale: true, WaitIndex: index, WaitTime: c.waitTime}
	return q.WithContext(ctx)
}

// WaitNode returns the node once its ModifyIndex passes index. Its Allocs
// are not filled; use WaitNodeAllocs.
func (c *Client) WaitNode(ctx context.Context, id string, index uint64) (Node, uint64, error) {
	n, qm, err := c.nomad.Nodes().Info(id, c.blockingNomad(ctx, index))
	if err != nil {
		return Node{}, index, c.nomadErr("read node "+id, err)
	}
	return nodeFrom(n, ""), qm.LastIndex, nil
}

// WaitNodeAllocs returns the counts of the node's non-terminal allocations
// once the node's allocations change past index.
func (c *Client) WaitNodeAllocs(ctx context.Context, id string, index uint64) (AllocCount, uint64, error) {
	var allocs []nodeAlloc
	qm, err := c.nomad.Raw().Query("/v1/node/"+url.PathEscape(id)+"/allocations", &allocs, c.blockingNomad(ctx, index))
	if err != nil {
		return AllocCount{}, index, c.nomadErr("list allocations of node "+id, err)
	}
	return countAllocs(allocs), qm.LastIndex, nil
}

// WaitDeployment returns the job's latest deployment (nil when it has none)
// once it changes past index.
func (c *Client) WaitDeployment(ctx context.Context, job JobRef, index uint64) (*Deployment, uint64, error) {
	q := c.blockingNomad(ctx, index)
	if job.Namespace != "" {
		q.Namespace = job.Namespace
	}
	d, qm, err := c.nomad.Jobs().LatestDeployment(job.ID, q)
	if err != nil {
		return nil, index, c.nomadErr("read the latest deployment of job "+job.ID, err)
	}
	return deploymentOf(d), qm.LastIndex, nil
}

// WaitConsulNode returns the Consul node's maintenance state once its
// health checks change past index.
func (c *Client) WaitConsulNode(ctx context.Context, name string, index uint64) (ConsulNode, uint64, error) {
	q := (&consul.QueryOptions{AllowStale: true, WaitIndex: index, WaitTime: c.waitTime}).WithContext(ctx)
	checks, qm, err := c.consul.Health().Node(name, q)
	if err != nil {
		return ConsulNode{}, index, c.consulErr("read health checks of node "+name, err)
	}
	out := ConsulNode{Name: name}
	for _, chk := range checks {
		if chk.CheckID == consul.NodeMaint {
			out.Maintenance, out.MaintenanceReason = true, chk.Notes
		}
	}
	return out, qm.LastIndex, nil
}
