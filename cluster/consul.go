package cluster

import (
	"context"
	"net"
	"sort"
	"strings"

	consul "github.com/hashicorp/consul/api"
)

func (c *Client) consulQuery(ctx context.Context) *consul.QueryOptions {
	q := &consul.QueryOptions{AllowStale: true}
	return q.WithContext(ctx)
}

func (c *Client) consulView(ctx context.Context) (*ConsulView, error) {
	v := &ConsulView{Address: c.cfg.ConsulShown(), Datacenter: c.cfg.ConsulDatacenter}
	q := c.consulQuery(ctx)

	raft, err := c.consul.Operator().RaftGetConfiguration(q)
	if err != nil {
		return nil, c.consulErr("read the Raft configuration", err)
	}
	// Agent().Members takes no context; the raw query does, so a hung
	// agent cannot hold Snapshot past ctx.
	var members []*consul.AgentMember
	if _, err := c.consul.Raw().Query("/v1/agent/members", &members, q); err != nil {
		return nil, c.consulErr("list members", err)
	}
	leader, err := c.consul.Status().LeaderWithQueryOptions(q)
	if err != nil {
		return nil, c.consulErr("read the leader", err)
	}
	// The Consul client already treats 429 as an answer.
	health, err := c.consul.Operator().AutopilotServerHealth(q)
	if err != nil && leader != "" {
		return nil, c.consulErr("read autopilot health", err)
	}

	for _, m := range members {
		v.Members = append(v.Members, consulMember(m))
	}
	sort.Slice(v.Members, func(i, j int) bool { return v.Members[i].Name < v.Members[j].Name })
	if v.Datacenter == "" {
		for _, m := range v.Members {
			if m.Role == "consul" && m.Datacenter != "" {
				v.Datacenter = m.Datacenter
				break
			}
		}
	}
	v.Raft = joinConsulServers(v.Datacenter, raft, v.Members, leader, health)
	probeRPC(ctx, &v.Raft, c.dialRPC)
	if err != nil {
		v.Raft.Autopilot.Error = c.consulErr("read autopilot health", err).Error()
	}

	nodes, _, err := c.consul.Catalog().Nodes(q)
	if err != nil {
		return v, c.consulErr("list catalog nodes", err)
	}
	// One request for every node's maintenance check instead of one per
	// node: maintenance checks are always critical.
	critical, _, err := c.consul.Health().State(consul.HealthCritical, q)
	if err != nil {
		return v, c.consulErr("list critical checks", err)
	}
	maint := map[string]string{}
	for _, chk := range critical {
		if chk.CheckID == consul.NodeMaint {
			maint[chk.Node] = chk.Notes
		}
	}
	for _, n := range nodes {
		reason, in := maint[n.Node]
		v.Nodes = append(v.Nodes, ConsulNode{Name: n.Node, Address: n.Address, Maintenance: in, MaintenanceReason: reason})
	}
	sort.Slice(v.Nodes, func(i, j int) bool { return v.Nodes[i].Name < v.Nodes[j].Name })
	return v, nil
}

// serfStatus names serf's member status numbers, as `consul members` does.
func serfStatus(n int) string {
	switch n {
	case 1:
		return "alive"
	case 2:
		return "leaving"
	case 3:
		return "left"
	case 4:
		return "failed"
	default:
		return "none"
	}
}

func consulMember(m *consul.AgentMember) Member {
	// Consul's build tag is "1.21.0:4e6b0d4c"; the revision is noise for
	// version comparisons.
	version, _, _ := strings.Cut(m.Tags["build"], ":")
	return Member{
		Name: m.Name, Addr: m.Addr, Port: m.Port, Status: serfStatus(m.Status),
		Role: m.Tags["role"], Datacenter: m.Tags["dc"], Version: version, Tags: m.Tags,
	}
}

func joinConsulServers(dc string, raft *consul.RaftConfiguration, members []Member, leader string, health *consul.OperatorHealthReply) RaftView {
	r := RaftView{LeaderAddress: leader}
	if health != nil {
		status := 200
		if !health.Healthy {
			status = 429
		}
		r.Autopilot = Autopilot{Healthy: health.Healthy, FailureTolerance: health.FailureTolerance, StatusCode: status}
	}
	local := func(m Member) bool { return m.Role == "consul" && (dc == "" || m.Datacenter == dc) }
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
				Voter:  p.Voter, InRaft: true, RaftProtocol: p.ProtocolVersion, Datacenter: dc,
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
		s := Server{ID: m.Tags["id"], Name: m.Name, Address: addr, Host: m.Addr, Leader: leader != "" && addr == leader}
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
					if h.LastContact != nil && h.LastContact.Duration() != 0 {
						s.LastContact = h.LastContact.Duration().String()
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
