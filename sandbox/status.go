package sandbox

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// ServerStatus is one Nomad server as the cluster reports it.
type ServerStatus struct {
	Name    string
	Version string // the version the sandbox runs it on
	Build   string // the version serf reports, empty when not a member
	HTTP    string
	PID     int
	Running bool
	Member  string // serf status: alive, failed, left; empty if unknown
	Leader  bool
	Voter   bool
}

// ClientStatus is one Nomad client node.
type ClientStatus struct {
	Name        string
	Version     string
	PID         int
	Running     bool
	NodePool    string
	Datacenter  string
	Status      string // ready, down, initializing; empty if not registered
	Eligibility string
	Drain       bool
	Allocations int // running allocations
}

// ConsulStatus is one Consul server.
type ConsulStatus struct {
	Name string
	// Version is the Consul version the sandbox runs the agent on.
	Version string `json:",omitempty"`
	HTTP    string
	PID     int
	Running bool
	Leader  bool
	Voter   bool
}

// Status is a snapshot of the sandbox for `nrun sandbox status`. Parts the
// cluster could not answer are left empty and described in Problems.
type Status struct {
	Root    string
	Servers []ServerStatus
	Clients []ClientStatus
	Consul  []ConsulStatus
	// ConsulAgents are the Consul client agents of Nomad agents, named
	// like their Nomad agent (Leader and Voter are always false).
	ConsulAgents []ConsulStatus `json:",omitempty"`
	Problems     []string
}

// Status asks the running agents about servers (leader, voter, version),
// clients (pool, eligibility, drain, allocations) and Consul peers.
func (c *Cluster) Status() *Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	st := &Status{Root: c.root}
	leader, lerr := c.leader()
	if lerr != nil {
		st.Problems = append(st.Problems, "nomad leader: "+lerr.Error())
	}
	voters := map[string]bool{}
	if rc, err := c.raftConfig(); err == nil {
		for _, s := range rc.Servers {
			voters[s.Address] = s.Voter
		}
	} else {
		st.Problems = append(st.Problems, "nomad raft: "+err.Error())
	}
	members := map[string][2]string{}
	cl, err := c.anyServerAPI()
	if err == nil {
		if ms, err := cl.Agent().Members(); err == nil {
			for _, m := range ms.Members {
				members[m.Name] = [2]string{m.Status, m.Tags["build"]}
			}
		} else {
			st.Problems = append(st.Problems, "nomad members: "+err.Error())
		}
	}
	for _, a := range c.agents(NomadServer) {
		m := members[a.Name+"."+c.st.Region]
		st.Servers = append(st.Servers, ServerStatus{Name: a.Name, Version: a.Version, Build: m[1], HTTP: a.HTTPAddr(), PID: a.PID,
			Running: c.running(a), Member: m[0], Leader: lerr == nil && leader == a.Name, Voter: voters[a.RPCAddr()]})
	}
	nodes := map[string]ClientStatus{}
	if cl != nil {
		if ns, _, err := cl.Nodes().List(nil); err == nil {
			for _, n := range ns {
				if _, dup := nodes[n.Name]; dup && n.Status != "ready" {
					continue
				}
				cs := ClientStatus{Status: n.Status, Eligibility: n.SchedulingEligibility, Drain: n.Drain, NodePool: n.NodePool, Datacenter: n.Datacenter}
				if allocs, _, err := cl.Nodes().Allocations(n.ID, nil); err == nil {
					for _, al := range allocs {
						if al.ClientStatus == "running" {
							cs.Allocations++
						}
					}
				}
				nodes[n.Name] = cs
			}
		} else {
			st.Problems = append(st.Problems, "nomad nodes: "+err.Error())
		}
	}
	for _, a := range c.agents(NomadClient) {
		cs := nodes[a.Name]
		cs.Name, cs.Version, cs.PID, cs.Running = a.Name, a.Version, a.PID, c.running(a)
		if cs.NodePool == "" {
			cs.NodePool, cs.Datacenter = a.NodePool, a.Datacenter
		}
		st.Clients = append(st.Clients, cs)
	}
	type peer struct {
		Node   string
		Leader bool
		Voter  bool
	}
	var cfg struct{ Servers []peer }
	if a := c.firstRunningLive(ConsulServer); a != nil {
		if err := c.consulGet(a, "/v1/operator/raft/configuration", &cfg); err != nil {
			st.Problems = append(st.Problems, "consul raft: "+err.Error())
		}
	}
	peers := map[string]peer{}
	for _, p := range cfg.Servers {
		peers[p.Node] = p
	}
	for _, a := range c.agents(ConsulServer) {
		p := peers[a.Name]
		st.Consul = append(st.Consul, ConsulStatus{Name: a.Name, Version: a.Version, HTTP: a.HTTPAddr(), PID: a.PID, Running: c.running(a), Leader: p.Leader, Voter: p.Voter})
	}
	for _, a := range c.agents(ConsulClient) {
		st.ConsulAgents = append(st.ConsulAgents, ConsulStatus{Name: a.Name, HTTP: a.HTTPAddr(), PID: a.PID, Running: c.running(a)})
	}
	sort.Strings(st.Problems)
	return st
}

// WriteText renders the status as three aligned tables.
func (s *Status) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	proc := func(running bool, pid int) string {
		if running {
			return fmt.Sprintf("running (pid %d)", pid)
		}
		return "stopped"
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	fmt.Fprintf(tw, "Sandbox %s\n\nNomad servers\nNAME\tVERSION\tMEMBER\tLEADER\tVOTER\tHTTP\tPROCESS\n", s.Root)
	for _, sv := range s.Servers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sv.Name, sv.Version, dash(sv.Member), yn(sv.Leader), yn(sv.Voter), sv.HTTP, proc(sv.Running, sv.PID))
	}
	if len(s.Clients) > 0 {
		fmt.Fprintf(tw, "\nNomad clients\nNAME\tVERSION\tPOOL\tDC\tSTATUS\tELIGIBILITY\tDRAIN\tALLOCS\tPROCESS\n")
		for _, c := range s.Clients {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", c.Name, c.Version, c.NodePool, c.Datacenter, dash(c.Status), dash(c.Eligibility), yn(c.Drain), c.Allocations, proc(c.Running, c.PID))
		}
	}
	if len(s.Consul) > 0 {
		fmt.Fprintf(tw, "\nConsul servers\nNAME\tVERSION\tLEADER\tVOTER\tHTTP\tPROCESS\n")
		for _, c := range s.Consul {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Version, yn(c.Leader), yn(c.Voter), c.HTTP, proc(c.Running, c.PID))
		}
	}
	if len(s.ConsulAgents) > 0 {
		fmt.Fprintf(tw, "\nConsul agents of Nomad agents\nNAME\tHTTP\tPROCESS\n")
		for _, c := range s.ConsulAgents {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.HTTP, proc(c.Running, c.PID))
		}
	}
	if len(s.Problems) > 0 {
		fmt.Fprintf(tw, "\nProblems\n%s\n", strings.Join(s.Problems, "\n"))
	}
	return tw.Flush()
}
