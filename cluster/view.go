package cluster

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"time"
)

// View is a plain snapshot of the cluster: what `nrun inventory` writes and
// what package checks evaluates. It holds no live handles; a View read back
// from JSON is as good as one just taken.
type View struct {
	// Taken is when the snapshot was read, in UTC.
	Taken  time.Time   `json:"taken"`
	Nomad  *NomadView  `json:"nomad,omitempty"`
	Consul *ConsulView `json:"consul,omitempty"`
}

// Unnamed returns the Raft peers, of either cluster, that no answer names
// (Name "" or UnknownNode), each as "nomad server ID at ADDRESS". Steps
// are planned over servers by name, so a view with one cannot be planned
// on: the same server would be keyed differently in the next plan.
func (v *View) Unnamed() []string {
	var out []string
	add := func(system string, r RaftView) {
		for _, s := range r.Servers {
			if s.InRaft && (s.Name == "" || s.Name == UnknownNode) {
				out = append(out, fmt.Sprintf("%s server %s at %s", system, s.ID, s.Address))
			}
		}
	}
	if v == nil {
		return nil
	}
	if v.Nomad != nil {
		add("nomad", v.Nomad.Raft)
	}
	if v.Consul != nil {
		add("consul", v.Consul.Raft)
	}
	return out
}

// NomadView is the Nomad part of a View.
type NomadView struct {
	Address string   `json:"address"`
	Region  string   `json:"region"`
	Raft    RaftView `json:"raft"`
	// Members are the gossip members of every region, as `nomad server
	// members` lists them. Raft.Servers holds the local region's servers.
	Members []Member `json:"members"`
	// Nodes are the client nodes read (see SnapshotOptions.Nodes), by name.
	Nodes []Node `json:"nodes,omitempty"`
	// Jobs are the jobs asked for in SnapshotOptions.Jobs.
	Jobs []Job `json:"jobs,omitempty"`
}

// ConsulView is the Consul part of a View.
type ConsulView struct {
	Address    string   `json:"address"`
	Datacenter string   `json:"datacenter"`
	Raft       RaftView `json:"raft"`
	Members    []Member `json:"members"`
	// Nodes are the catalog's nodes with their maintenance state.
	Nodes []ConsulNode `json:"nodes,omitempty"`
}

// RaftView is one cluster's server set: the Raft configuration joined with
// gossip membership and autopilot health. The quorum arithmetic lives here.
type RaftView struct {
	// Index is the Raft configuration's index as the API reports it.
	// Nomad 1.10 and Consul 1.21 report 0 here (checked on the sandbox),
	// so nothing should wait on it.
	Index uint64 `json:"index"`
	// LeaderAddress is the leader's RPC address as /v1/status/leader gives
	// it, "" when there is no leader.
	LeaderAddress string    `json:"leader_address"`
	Autopilot     Autopilot `json:"autopilot"`
	// Servers are the Raft peers (InRaft) followed by servers that gossip
	// knows but Raft does not, sorted by name within each group.
	Servers []Server `json:"servers"`
}

// Autopilot is the cluster-wide part of the autopilot health answer. Nomad
// and Consul answer HTTP 429 when unhealthy; that is a valid answer here, with
// Healthy false and StatusCode 429.
type Autopilot struct {
	Healthy          bool `json:"healthy"`
	FailureTolerance int  `json:"failure_tolerance"`
	StatusCode       int  `json:"status_code"`
	// Error says why autopilot could not be read (no leader); then every
	// server counts as unhealthy.
	Error string `json:"error,omitempty"`
}

// Server is one server of a Nomad region or Consul datacenter.
type Server struct {
	ID   string `json:"id"`   // Raft ID (node ID with Raft protocol 3)
	Name string `json:"name"` // node name; Nomad's carries the region: "s1.global"
	// Address is the Raft/RPC address, host:port.
	Address string `json:"address"`
	// Host is Address without the port.
	Host         string `json:"host"`
	Datacenter   string `json:"datacenter,omitempty"`
	Region       string `json:"region,omitempty"`
	Leader       bool   `json:"leader"`
	Voter        bool   `json:"voter"`
	InRaft       bool   `json:"in_raft"`
	RaftProtocol string `json:"raft_protocol,omitempty"`
	// Version is the build version the server gossips ("1.10.0"), or the
	// autopilot's when it has no member entry.
	Version string `json:"version"`
	// Status is the gossip status: alive, leaving, left, failed; "" when
	// gossip does not know the server.
	Status string `json:"status"`
	// Healthy is autopilot's verdict on the server.
	Healthy    bool   `json:"healthy"`
	SerfStatus string `json:"serf_status,omitempty"`
	// LastContact is the time since the server last heard from the leader,
	// as autopilot reports it ("12ms"); "" for the leader.
	LastContact string    `json:"last_contact,omitempty"`
	LastIndex   uint64    `json:"last_index,omitempty"`
	StableSince time.Time `json:"stable_since,omitzero"`
	// RPC is the outcome of a TCP connect to Address when the view was
	// taken (RPCUp, RPCRefused, RPCNoAnswer); "" when not probed. It is
	// the liveness signal independent of autopilot (RaftView.Alive).
	RPC string `json:"rpc,omitempty"`
}

// Member is one gossip member.
type Member struct {
	Name       string `json:"name"`
	Addr       string `json:"addr"`
	Port       uint16 `json:"port"`
	Status     string `json:"status"`
	Role       string `json:"role"`
	Region     string `json:"region,omitempty"`
	Datacenter string `json:"datacenter,omitempty"`
	// Version is the build tag without the revision suffix Consul adds.
	Version string            `json:"version"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// Node is a Nomad client node.
type Node struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Address     string            `json:"address"`
	Datacenter  string            `json:"datacenter"`
	NodePool    string            `json:"node_pool"`
	NodeClass   string            `json:"node_class"`
	Meta        map[string]string `json:"meta,omitempty"`
	Status      string            `json:"status"`      // initializing, ready, down, disconnected
	Eligibility string            `json:"eligibility"` // eligible, ineligible
	Drain       bool              `json:"drain"`       // a drain is in progress
	LastDrain   *Drain            `json:"last_drain,omitempty"`
	// Version is the Nomad version the node's client agent reported when
	// it last registered.
	Version     string `json:"version"`
	ModifyIndex uint64 `json:"modify_index"`
	// StatusUpdatedAt is when the node's status last changed (a client
	// agent that restarts re-registers and moves it); zero when the read
	// did not report it (node lists do not, the node's own read does).
	StatusUpdatedAt time.Time `json:"status_updated_at,omitzero"`
	// Allocs counts the node's allocations that have not reached a terminal
	// client status (pending, running, unknown), including ones the
	// scheduler has already told to stop but that still run.
	Allocs AllocCount `json:"allocs"`
	// Resources is what the node offers the scheduler and what its
	// allocations take; nil when the read did not report it (inventories
	// written before nrun read resources).
	Resources *Resources `json:"resources,omitempty"`
}

// Resources is a node's capacity and use as Nomad's scheduler counts them:
// CPU in MHz, memory in MB. Capacity is the node's resources less what its
// client reserves; allocated sums the resources of the allocations counted
// in AllocCount.NonTerminal.
type Resources struct {
	CPU      int64 `json:"cpu_mhz"`
	MemoryMB int64 `json:"memory_mb"`
	// AllocatedCPU and AllocatedMemoryMB sum every non-terminal
	// allocation's resources.
	AllocatedCPU      int64 `json:"allocated_cpu_mhz"`
	AllocatedMemoryMB int64 `json:"allocated_memory_mb"`
	// SystemCPU and SystemMemoryMB are the part of the allocated resources
	// that system and sysbatch jobs take: a drain does not move those
	// elsewhere.
	SystemCPU      int64 `json:"system_cpu_mhz"`
	SystemMemoryMB int64 `json:"system_memory_mb"`
	// AnyPoolCPU and AnyPoolMemoryMB are the part of the allocated
	// resources whose jobs may run in every node pool (node_pool = "all"):
	// a drain may move those to another pool.
	AnyPoolCPU      int64 `json:"any_pool_cpu_mhz,omitempty"`
	AnyPoolMemoryMB int64 `json:"any_pool_memory_mb,omitempty"`
}

// FreeCPU and FreeMemoryMB are the capacity no allocation takes, never
// below zero.
func (r Resources) FreeCPU() int64      { return max(r.CPU-r.AllocatedCPU, 0) }
func (r Resources) FreeMemoryMB() int64 { return max(r.MemoryMB-r.AllocatedMemoryMB, 0) }

// MovingCPU and MovingMemoryMB are what a drain has to place elsewhere:
// the allocated resources less the system jobs'.
func (r Resources) MovingCPU() int64      { return max(r.AllocatedCPU-r.SystemCPU, 0) }
func (r Resources) MovingMemoryMB() int64 { return max(r.AllocatedMemoryMB-r.SystemMemoryMB, 0) }

// PoolBoundCPU and PoolBoundMemoryMB are the part of what moves that must
// stay in the node's own pool (its jobs are not in node pool "all").
func (r Resources) PoolBoundCPU() int64 { return max(r.MovingCPU()-r.AnyPoolCPU, 0) }
func (r Resources) PoolBoundMemoryMB() int64 {
	return max(r.MovingMemoryMB()-r.AnyPoolMemoryMB, 0)
}

// Drain is the node's last drain.
type Drain struct {
	Status    string    `json:"status"` // draining, complete, canceled
	StartedAt time.Time `json:"started_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// AllocCount counts a node's non-terminal allocations.
type AllocCount struct {
	NonTerminal int `json:"non_terminal"`
	// System counts those of system and sysbatch jobs, which a drain with
	// ignore_system_jobs leaves in place.
	System int `json:"system"`
}

// Job is a Nomad job with its latest deployment.
type Job struct {
	ID             string      `json:"id"`
	Namespace      string      `json:"namespace"`
	Type           string      `json:"type"`
	Status         string      `json:"status"`
	Stop           bool        `json:"stop"`
	Version        uint64      `json:"version"`
	Stable         bool        `json:"stable"`
	JobModifyIndex uint64      `json:"job_modify_index"`
	ModifyIndex    uint64      `json:"modify_index"`
	Deployment     *Deployment `json:"deployment,omitempty"`
}

// Deployment is a job's deployment.
type Deployment struct {
	ID                string                     `json:"id"`
	Status            string                     `json:"status"`
	StatusDescription string                     `json:"status_description"`
	JobVersion        uint64                     `json:"job_version"`
	ModifyIndex       uint64                     `json:"modify_index"`
	Groups            map[string]DeploymentGroup `json:"groups"`
}

// DeploymentGroup is one task group's deployment progress.
type DeploymentGroup struct {
	DesiredTotal    int  `json:"desired_total"`
	DesiredCanaries int  `json:"desired_canaries"`
	PlacedCanaries  int  `json:"placed_canaries"`
	PlacedAllocs    int  `json:"placed_allocs"`
	HealthyAllocs   int  `json:"healthy_allocs"`
	UnhealthyAllocs int  `json:"unhealthy_allocs"`
	Promoted        bool `json:"promoted"`
	AutoRevert      bool `json:"auto_revert"`
}

// ConsulNode is a Consul catalog node with its maintenance state.
type ConsulNode struct {
	Name              string `json:"name"`
	Address           string `json:"address"`
	Maintenance       bool   `json:"maintenance"`
	MaintenanceReason string `json:"maintenance_reason,omitempty"`
}

// Voters counts the voting servers in the Raft configuration.
func (r RaftView) Voters() int {
	n := 0
	for _, s := range r.Servers {
		if s.InRaft && s.Voter {
			n++
		}
	}
	return n
}

// HealthyVoters counts the voters autopilot reports healthy that are also
// alive by a signal of their own (Counted, Alive).
func (r RaftView) HealthyVoters() int {
	n := 0
	for _, s := range r.Servers {
		if r.Counted(s) {
			n++
		}
	}
	return n
}

// Quorum is the number of voters Raft needs to commit: voters/2+1.
func (r RaftView) Quorum() int { return r.Voters()/2 + 1 }

// FailureTolerance is how many more healthy voters the cluster can lose and
// keep quorum: healthy voters minus quorum. It is negative when the cluster
// has already lost quorum; callers must not clamp it.
func (r RaftView) FailureTolerance() int { return r.HealthyVoters() - r.Quorum() }

// Leader returns the leader. This is the one rule for it, so data sources
// (each.value.leader, .leader, .followers), checks and leader_last agree:
// a server's own Leader flag wins; when several servers carry it (a leader
// change between two reads), the flagged one at LeaderAddress, else the
// first flagged; when none does, the server at LeaderAddress.
func (r RaftView) Leader() (Server, bool) {
	i := r.leaderIndex()
	if i < 0 {
		return Server{}, false
	}
	return r.Servers[i], true
}

// IsLeader reports whether the i-th server of r.Servers is the leader, by
// the rule of Leader.
func (r RaftView) IsLeader(i int) bool { return i >= 0 && i == r.leaderIndex() }

func (r RaftView) leaderIndex() int {
	flagged, byAddr := -1, -1
	for i, s := range r.Servers {
		atAddr := r.LeaderAddress != "" && s.Address == r.LeaderAddress
		if s.Leader && (flagged < 0 || atAddr && r.Servers[flagged].Address != r.LeaderAddress) {
			flagged = i
		}
		if atAddr && byAddr < 0 {
			byAddr = i
		}
	}
	if flagged >= 0 {
		return flagged
	}
	return byAddr
}

// Find returns the server whose ID, name, address or host equals ref. A
// Nomad name matches with or without its ".region" suffix, so "s1" finds
// "s1.global". Exact matches win over suffix-stripped ones.
func (r RaftView) Find(ref string) (Server, bool) {
	if ref == "" {
		return Server{}, false
	}
	for _, s := range r.Servers {
		if s.ID == ref || s.Name == ref || s.Address == ref {
			return s, true
		}
	}
	var found []Server
	for _, s := range r.Servers {
		short, _, _ := strings.Cut(s.Name, ".")
		if short == ref || s.Host == ref {
			found = append(found, s)
		}
	}
	// Several servers on one host (a loopback sandbox) make a host
	// ambiguous; refuse to guess.
	if len(found) == 1 {
		return found[0], true
	}
	return Server{}, false
}

// Node returns the node whose ID or name equals ref.
func (v *NomadView) Node(ref string) (Node, bool) {
	if v == nil || ref == "" {
		return Node{}, false
	}
	for _, n := range v.Nodes {
		if n.ID == ref || n.Name == ref {
			return n, true
		}
	}
	return Node{}, false
}

// Job returns the job with that ID; an empty namespace matches any.
func (v *NomadView) Job(namespace, id string) (Job, bool) {
	if v == nil {
		return Job{}, false
	}
	for _, j := range v.Jobs {
		if j.ID == id && (namespace == "" || j.Namespace == namespace) {
			return j, true
		}
	}
	return Job{}, false
}

// Node returns the Consul node with that name.
func (v *ConsulView) Node(name string) (ConsulNode, bool) {
	if v == nil {
		return ConsulNode{}, false
	}
	for _, n := range v.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return ConsulNode{}, false
}

// NodeFilter selects Nomad client nodes, as a nomad_nodes data source does.
// Every set field must match; the zero NodeFilter matches every node.
type NodeFilter struct {
	NodePool   string            `json:"node_pool,omitempty"`
	Datacenter string            `json:"datacenter,omitempty"`
	NodeClass  string            `json:"node_class,omitempty"`
	Status     string            `json:"status,omitempty"`
	Meta       map[string]string `json:"meta,omitempty"`
	// Name is a regular expression matched against the node name, unanchored
	// like Go's regexp.MatchString; write ^...$ to anchor it.
	Name *regexp.Regexp `json:"-"`
}

// Match reports whether n passes every set field of f.
func (f NodeFilter) Match(n Node) bool {
	return f.matchStub(n) && f.matchMeta(n)
}

// matchStub checks what the node list answer alone can decide, so Snapshot
// reads the full node only for candidates.
func (f NodeFilter) matchStub(n Node) bool {
	if f.NodePool != "" && n.NodePool != f.NodePool {
		return false
	}
	if f.Datacenter != "" && n.Datacenter != f.Datacenter {
		return false
	}
	if f.NodeClass != "" && n.NodeClass != f.NodeClass {
		return false
	}
	if f.Status != "" && n.Status != f.Status {
		return false
	}
	if f.Name != nil && !f.Name.MatchString(n.Name) {
		return false
	}
	return true
}

func (f NodeFilter) matchMeta(n Node) bool {
	for k, want := range f.Meta {
		if got, ok := n.Meta[k]; !ok || got != want {
			return false
		}
	}
	return true
}

// NodesMatching returns the nodes that f matches, in the view's order.
func (v *NomadView) NodesMatching(f NodeFilter) []Node {
	if v == nil {
		return nil
	}
	var out []Node
	for _, n := range v.Nodes {
		if f.Match(n) {
			out = append(out, n)
		}
	}
	return out
}

// Host is the node's Address without the port, like Server.Host; it is
// derived, not stored, so inventories written before it existed read the
// same.
func (n Node) Host() string { return hostOf(n.Address) }

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// sortServers puts Raft peers first, then gossip-only servers, each group by
// name, so a View's bytes do not depend on the order the API answered in.
func sortServers(s []Server) {
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].InRaft != s[j].InRaft {
			return s[i].InRaft
		}
		if s[i].Name != s[j].Name {
			return s[i].Name < s[j].Name
		}
		return s[i].ID < s[j].ID
	})
}
