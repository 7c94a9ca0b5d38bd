package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sort"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// JobRef names a Nomad job; an empty Namespace means the client's.
type JobRef struct {
	Namespace string `json:"namespace,omitempty"`
	ID        string `json:"id"`
}

// SnapshotOptions says what Snapshot reads. Servers (Raft, autopilot,
// members, leader) are always read for each cluster that is on.
type SnapshotOptions struct {
	// Nomad and Consul turn each cluster on. A runbook with no consul block
	// and no Consul checks leaves Consul off, so a missing Consul is not
	// an error.
	Nomad  bool
	Consul bool
	// Nodes reads Nomad client nodes. With NodeFilters set, only nodes
	// that match at least one filter are read in full (one node and one
	// allocations request each); without, every node is.
	Nodes       bool
	NodeFilters []NodeFilter
	// Jobs are read with their latest deployment. A job that does not
	// exist is left out of the view, not an error.
	Jobs []JobRef
}

// Snapshot reads the parts of the cluster opts asks for. On error it still
// returns what it could read; the error joins one *Error per failed read.
// Reads that have no answer without a leader (autopilot) are recorded in the
// view instead of failing it, because a leaderless cluster is exactly what
// the checks must be able to see.
func (c *Client) Snapshot(ctx context.Context, opts SnapshotOptions) (*View, error) {
	v := &View{Taken: c.now().UTC()}
	var errs []error
	if opts.Nomad {
		nv, err := c.nomadView(ctx, opts)
		v.Nomad = nv
		errs = append(errs, err)
	}
	if opts.Consul {
		cv, err := c.consulView(ctx)
		v.Consul = cv
		errs = append(errs, err)
	}
	return v, errors.Join(errs...)
}

func (c *Client) nomadQuery(ctx context.Context) *nomad.QueryOptions {
	// Stale reads let any server answer, so a view can be taken from a
	// cluster that has lost its leader.
	q := &nomad.QueryOptions{AllowStale: true}
	return q.WithContext(ctx)
}

func (c *Client) nomadView(ctx context.Context, opts SnapshotOptions) (*NomadView, error) {
	v := &NomadView{Address: c.cfg.NomadShown(), Region: c.cfg.NomadRegion}
	q := c.nomadQuery(ctx)

	raft, raftErr := c.nomad.Operator().RaftGetConfiguration(q)
	raftDenied := isForbidden(raftErr)
	if raftErr != nil && !raftDenied {
		return nil, c.nomadErr("read the Raft configuration", raftErr)
	}
	members, err := c.nomad.Agent().MembersOpts(q)
	if err != nil {
		return nil, c.nomadErr("list server members", err)
	}
	var leader string
	if _, err := c.nomad.Raw().Query("/v1/status/leader", &leader, q); err != nil {
		return nil, c.nomadErr("read the leader", err)
	}
	// Without a leader autopilot has no answer; the view records why
	// and every server counts as unhealthy.
	health, status, err := c.nomadAutopilot(q)
	if raftDenied && health == nil {
		// Nomad serves its Raft configuration to management tokens only;
		// autopilot health (operator:read) lists the same Raft servers
		// with their IDs, addresses, votes and the leader, so a
		// least-privilege token reads them there. Without that answer
		// (no leader, or no operator:read) the refusal stands.
		return nil, c.nomadErr("read the Raft configuration (a management token's) or autopilot health (operator:read)", raftErr)
	}
	if err != nil && leader != "" {
		return nil, c.nomadErr("read autopilot health", err)
	}
	if raftDenied {
		raft = raftFromAutopilot(health)
	}

	if members != nil && members.ServerRegion != "" {
		v.Region = members.ServerRegion
	}
	if members != nil {
		for _, m := range members.Members {
			v.Members = append(v.Members, nomadMember(m))
		}
	}
	sort.Slice(v.Members, func(i, j int) bool { return v.Members[i].Name < v.Members[j].Name })
	v.Raft = joinNomadServers(v.Region, raft, v.Members, leader, health, status)
	probeRPC(ctx, &v.Raft, c.dialRPC)
	if err != nil {
		v.Raft.Autopilot.Error = c.nomadErr("read autopilot health", err).Error()
	}

	if opts.Nodes {
		nodes, err := c.nomadNodes(ctx, opts.NodeFilters)
		if err != nil {
			return v, err
		}
		v.Nodes = nodes
	}
	for _, ref := range opts.Jobs {
		j, ok, err := c.nomadJob(ctx, ref)
		if err != nil {
			return v, err
		}
		if ok {
			v.Jobs = append(v.Jobs, j)
		}
	}
	return v, nil
}

// raftFromAutopilot is the Raft configuration as autopilot health lists
// it (no index, no Raft protocol).
func raftFromAutopilot(h *nomad.OperatorHealthReply) *nomad.RaftConfiguration {
	out := &nomad.RaftConfiguration{}
	for _, s := range h.Servers {
		out.Servers = append(out.Servers, &nomad.RaftServer{ID: s.ID, Node: s.Name, Address: s.Address, Leader: s.Leader, Voter: s.Voter})
	}
	return out
}

// isForbidden reports whether err is Nomad's 403 answer (an ACL refusal).
func isForbidden(err error) bool {
	var ure nomad.UnexpectedResponseError
	return errors.As(err, &ure) && ure.StatusCode() == http.StatusForbidden
}

// nomadAutopilot reads autopilot health. Nomad answers 429 with the full
// body when the cluster is unhealthy and the Go client turns that into an
// error; here it is an answer.
func (c *Client) nomadAutopilot(q *nomad.QueryOptions) (*nomad.OperatorHealthReply, int, error) {
	out, _, err := c.nomad.Operator().AutopilotServerHealth(q)
	if err == nil {
		return out, http.StatusOK, nil
	}
	var ure nomad.UnexpectedResponseError
	if errors.As(err, &ure) && ure.StatusCode() == http.StatusTooManyRequests && ure.HasBody() {
		var reply nomad.OperatorHealthReply
		if jerr := json.Unmarshal([]byte(ure.Body()), &reply); jerr != nil {
			return nil, 0, jerr
		}
		return &reply, http.StatusTooManyRequests, nil
	}
	return nil, 0, err
}

func nomadMember(m *nomad.AgentMember) Member {
	return Member{
		Name:       m.Name,
		Addr:       m.Addr,
		Port:       m.Port,
		Status:     m.Status,
		Role:       m.Tags["role"],
		Region:     m.Tags["region"],
		Datacenter: m.Tags["dc"],
		Version:    m.Tags["build"],
		Tags:       m.Tags,
	}
}

// joinNomadServers joins the Raft configuration (who votes), gossip (who is
// alive, which build) and autopilot (who is healthy) into one list.
func joinNomadServers(region string, raft *nomad.RaftConfiguration, members []Member, leader string, health *nomad.OperatorHealthReply, status int) RaftView {
	r := RaftView{LeaderAddress: leader}
	if health != nil {
		r.Autopilot = Autopilot{Healthy: health.Healthy, FailureTolerance: health.FailureTolerance, StatusCode: status}
	}
	local := func(m Member) bool {
		return m.Role == "nomad" && (region == "" || m.Region == region)
	}
	used := map[string]bool{}
	if raft != nil {
		r.Index = raft.Index
		for _, p := range raft.Servers {
			if p == nil {
				continue
			}
			s := Server{
				ID: p.ID, Name: p.Node, Address: p.Address, Host: hostOf(p.Address),
				Leader: p.Leader || (leader != "" && p.Address == leader),
				Voter:  p.Voter, InRaft: true, RaftProtocol: p.RaftProtocol,
				Region: region,
			}
			for _, m := range members {
				if !local(m) || used[m.Name] {
					continue
				}
				if m.Tags["id"] == p.ID || m.Name == p.Node || net.JoinHostPort(m.Addr, m.Tags["port"]) == p.Address {
					used[m.Name] = true
					fillFromMember(&s, m)
					break
				}
			}
			r.Servers = append(r.Servers, s)
		}
	}
	for _, m := range members {
		if !local(m) || used[m.Name] {
			continue
		}
		addr := m.Addr
		if p := m.Tags["port"]; p != "" {
			addr = net.JoinHostPort(m.Addr, p)
		}
		s := Server{ID: m.Tags["id"], Name: m.Name, Address: addr, Host: m.Addr, Region: m.Region,
			Leader: leader != "" && addr == leader}
		fillFromMember(&s, m)
		r.Servers = append(r.Servers, s)
	}
	if health != nil {
		for i := range r.Servers {
			s := &r.Servers[i]
			for _, h := range health.Servers {
				if h.ID == s.ID || (h.ID == "" && h.Address == s.Address) {
					s.Healthy = h.Healthy
					s.SerfStatus = h.SerfStatus
					if h.LastContact != 0 {
						s.LastContact = h.LastContact.String()
					}
					s.LastIndex = h.LastIndex
					s.StableSince = h.StableSince.UTC()
					if s.Version == "" {
						s.Version = h.Version
					}
					break
				}
			}
		}
	}
	sortServers(r.Servers)
	return r
}

// UnknownNode is the name Nomad and Consul give a Raft peer that the
// answering server's gossip does not list at the peer's address: a server
// that is restarting, seen by one that has not heard from it again yet,
// or a server whose member was reaped. It is no server's name.
const UnknownNode = "(unknown)"

// fillFromMember completes s from the gossip member that matched it (by
// ID, name or address). A Raft peer that the answering server could not
// name takes the member's name; its Raft protocol, "unknown" then, the
// member's.
func fillFromMember(s *Server, m Member) {
	if s.Name == "" || s.Name == UnknownNode {
		s.Name = m.Name
	}
	if s.RaftProtocol == "unknown" {
		s.RaftProtocol = ""
	}
	s.Version = m.Version
	s.Status = m.Status
	s.Datacenter = m.Datacenter
	if s.Region == "" {
		s.Region = m.Region
	}
	if s.RaftProtocol == "" {
		s.RaftProtocol = m.Tags["raft_vsn"]
	}
	if s.ID == "" {
		s.ID = m.Tags["id"]
	}
}

// nodeAlloc is the part of an allocation nrun needs; decoding only these
// fields skips the embedded job, which is most of the answer's bytes.
type nodeAlloc struct {
	ID                 string
	ClientStatus       string
	Job                *struct{ Type, NodePool string }
	AllocatedResources *struct {
		Tasks map[string]*struct {
			Cpu    struct{ CpuShares int64 }
			Memory struct{ MemoryMB int64 }
		}
	}
}

func (c *Client) nomadNodes(ctx context.Context, filters []NodeFilter) ([]Node, error) {
	q := c.nomadQuery(ctx)
	stubs, _, err := c.nomad.Nodes().List(q)
	if err != nil {
		return nil, c.nomadErr("list client nodes", err)
	}
	var out []Node
	for _, st := range stubs {
		n := Node{
			ID: st.ID, Name: st.Name, Address: st.Address, Datacenter: st.Datacenter,
			NodePool: st.NodePool, NodeClass: st.NodeClass, Status: st.Status,
			Eligibility: st.SchedulingEligibility, Drain: st.Drain, Version: st.Version,
			ModifyIndex: st.ModifyIndex, LastDrain: drainOf(st.LastDrain),
		}
		if !matchAny(filters, n, NodeFilter.matchStub) {
			continue
		}
		full, _, err := c.nomad.Nodes().Info(st.ID, q)
		if isNotFound(err) {
			continue // purged between the list and the read
		}
		if err != nil {
			return out, c.nomadErr("read node "+st.Name, err)
		}
		n = nodeFrom(full, n.Version)
		if !matchAny(filters, n, NodeFilter.Match) {
			continue
		}
		allocs, err := c.nodeAllocs(q, st.ID)
		if err != nil {
			return out, c.nomadErr("list allocations of node "+st.Name, err)
		}
		n.Allocs = countAllocs(allocs)
		n.Resources = resourcesOf(full, allocs)
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func matchAny(filters []NodeFilter, n Node, match func(NodeFilter, Node) bool) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if match(f, n) {
			return true
		}
	}
	return false
}

// nodeFrom converts a full node. version comes from the list stub, which
// reads the nomad.version attribute for us.
// NodeFromAPI is the Node of an API node record (an event stream's Node
// payload, say); its Allocs are not filled.
func NodeFromAPI(n *nomad.Node) Node { return nodeFrom(n, "") }

func nodeFrom(n *nomad.Node, version string) Node {
	if version == "" {
		version = n.Attributes["nomad.version"]
	}
	addr := n.HTTPAddr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	var statusAt time.Time
	if n.StatusUpdatedAt > 0 {
		statusAt = time.Unix(n.StatusUpdatedAt, 0).UTC()
	}
	return Node{
		StatusUpdatedAt: statusAt,
		ID:              n.ID, Name: n.Name, Address: addr, Datacenter: n.Datacenter,
		NodePool: n.NodePool, NodeClass: n.NodeClass, Meta: n.Meta, Status: n.Status,
		Eligibility: n.SchedulingEligibility, Drain: n.DrainStrategy != nil || n.Drain,
		LastDrain: drainOf(n.LastDrain), Version: version, ModifyIndex: n.ModifyIndex,
	}
}

func drainOf(d *nomad.DrainMetadata) *Drain {
	if d == nil {
		return nil
	}
	return &Drain{Status: string(d.Status), StartedAt: d.StartedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

func (c *Client) nodeAllocs(q *nomad.QueryOptions, nodeID string) ([]nodeAlloc, error) {
	var allocs []nodeAlloc
	_, err := c.nomad.Raw().Query("/v1/node/"+url.PathEscape(nodeID)+"/allocations", &allocs, q)
	return allocs, err
}

// terminal reports whether an allocation has stopped on its client.
func (a nodeAlloc) terminal() bool {
	switch a.ClientStatus {
	case nomad.AllocClientStatusComplete, nomad.AllocClientStatusFailed, nomad.AllocClientStatusLost:
		return true
	}
	return false
}

// anyPool reports whether the allocation's job may run in every node
// pool (node_pool = "all"), so a drain may move it out of its node's pool.
func (a nodeAlloc) anyPool() bool { return a.Job != nil && a.Job.NodePool == "all" }

func (a nodeAlloc) system() bool {
	return a.Job != nil && (a.Job.Type == "system" || a.Job.Type == "sysbatch")
}

func countAllocs(allocs []nodeAlloc) AllocCount {
	var n AllocCount
	for _, a := range allocs {
		if a.terminal() {
			continue
		}
		n.NonTerminal++
		if a.system() {
			n.System++
		}
	}
	return n
}

// resourcesOf is node n's capacity (its resources less its client's
// reservation) and the resources its non-terminal allocations take. It
// is nil when the node reports no resources.
func resourcesOf(n *nomad.Node, allocs []nodeAlloc) *Resources {
	if n == nil || n.NodeResources == nil {
		return nil
	}
	r := &Resources{CPU: n.NodeResources.Cpu.CpuShares, MemoryMB: n.NodeResources.Memory.MemoryMB}
	if rr := n.ReservedResources; rr != nil {
		r.CPU = max(r.CPU-int64(rr.Cpu.CpuShares), 0)
		r.MemoryMB = max(r.MemoryMB-int64(rr.Memory.MemoryMB), 0)
	}
	for _, a := range allocs {
		if a.terminal() || a.AllocatedResources == nil {
			continue
		}
		var cpu, mem int64
		for _, t := range a.AllocatedResources.Tasks {
			if t != nil {
				cpu += t.Cpu.CpuShares
				mem += t.Memory.MemoryMB
			}
		}
		r.AllocatedCPU += cpu
		r.AllocatedMemoryMB += mem
		switch {
		case a.system():
			r.SystemCPU += cpu
			r.SystemMemoryMB += mem
		case a.anyPool():
			r.AnyPoolCPU += cpu
			r.AnyPoolMemoryMB += mem
		}
	}
	return r
}

func (c *Client) nomadJob(ctx context.Context, ref JobRef) (Job, bool, error) {
	q := c.nomadQuery(ctx)
	if ref.Namespace != "" {
		q.Namespace = ref.Namespace
	}
	j, _, err := c.nomad.Jobs().Info(ref.ID, q)
	if isNotFound(err) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, c.nomadErr("read job "+ref.ID, err)
	}
	out := Job{
		ID: deref(j.ID), Namespace: deref(j.Namespace), Type: deref(j.Type), Status: deref(j.Status),
		Stop: derefBool(j.Stop), Version: derefU64(j.Version), Stable: derefBool(j.Stable),
		JobModifyIndex: derefU64(j.JobModifyIndex), ModifyIndex: derefU64(j.ModifyIndex),
	}
	d, _, err := c.nomad.Jobs().LatestDeployment(ref.ID, q)
	if err != nil {
		return out, true, c.nomadErr("read the latest deployment of job "+ref.ID, err)
	}
	out.Deployment = deploymentOf(d)
	return out, true, nil
}

func deploymentOf(d *nomad.Deployment) *Deployment {
	if d == nil {
		return nil
	}
	out := &Deployment{
		ID: d.ID, Status: d.Status, StatusDescription: d.StatusDescription,
		JobVersion: d.JobVersion, ModifyIndex: d.ModifyIndex,
		Groups: map[string]DeploymentGroup{},
	}
	for name, g := range d.TaskGroups {
		if g == nil {
			continue
		}
		out.Groups[name] = DeploymentGroup{
			DesiredTotal: g.DesiredTotal, DesiredCanaries: g.DesiredCanaries,
			PlacedCanaries: len(g.PlacedCanaries), PlacedAllocs: g.PlacedAllocs,
			HealthyAllocs: g.HealthyAllocs, UnhealthyAllocs: g.UnhealthyAllocs,
			Promoted: g.Promoted, AutoRevert: g.AutoRevert,
		}
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefBool(p *bool) bool { return p != nil && *p }

func derefU64(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func isNotFound(err error) bool {
	var ure nomad.UnexpectedResponseError
	return errors.As(err, &ure) && ure.StatusCode() == http.StatusNotFound
}
