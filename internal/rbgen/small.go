package rbgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nrun-dev/nrun/cluster"
)

// Small is one small random runbook and the inventory it is planned
// against, for the model-checking test of the safety analysis.
type Small struct {
	Seed uint64
	// Source is the text of one .nrun.hcl file.
	Source []byte
	// View is the inventory: 3 to 5 Nomad servers, 3 to 5 Consul servers
	// (sometimes on the Nomad servers' hosts), 2 to 6 clients. Every
	// server is a healthy voter. Each client's meta "capacity" is how
	// many allocations it can hold; Allocs.NonTerminal is how many it runs.
	View *cluster.View
}

// GenerateSmall returns a runbook of 2 to 6 top-level steps drawn from every
// action and check, with composites, max_parallel, depends_on, on_failure,
// retry and waivers, and its inventory. The same seed gives the same bytes.
// Many of the runbooks are unsafe on purpose: the model-checking test needs
// the analysis to both accept and reject.
func GenerateSmall(seed uint64) Small {
	r := rand.New(rand.NewPCG(seed, 0x736d616c6c))
	g := &smallGen{r: r}
	g.inventory()
	var b strings.Builder
	fmt.Fprintf(&b, "# rbgen small, seed %d\n\n", seed)
	b.WriteString("data \"nomad_servers\" \"all\" {}\ndata \"consul_servers\" \"all\" {}\ndata \"nomad_nodes\" \"all\" {}\n\n")
	b.WriteString("terraform \"fleet\" {\n  dir = \"./infra\"\n}\n\n")
	n := 2 + r.IntN(5)
	// Most runbooks start with snapshots, so that NR-S004 does not reject
	// nearly all of them and the other rules get exercised.
	for _, c := range []string{"nomad", "consul"} {
		if n > 2 && r.IntN(3) != 0 {
			name := "snap_" + c
			fmt.Fprintf(&b, "step %q {\n  action \"%s_snapshot_save\" {\n    path = \"%s.snap\"\n  }\n}\n\n", name, c, c)
			g.names = append(g.names, name)
			n--
		}
	}
	for i := range n {
		g.step(&b, i)
	}
	return Small{Seed: seed, Source: []byte(b.String()), View: g.view}
}

type smallGen struct {
	r      *rand.Rand
	view   *cluster.View
	nomad  []string // server names
	consul []string
	nodes  []string
	names  []string // steps declared so far
}

func (g *smallGen) inventory() {
	r := g.r
	nn, cn, kn := 3+r.IntN(3), 3+r.IntN(3), 2+r.IntN(5)
	shared := r.IntN(2) == 0
	taken := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	servers := func(n int, prefix, suffix string, hostBase int, port int) ([]cluster.Server, string, []string) {
		leader := r.IntN(n)
		var out []cluster.Server
		var names []string
		for i := range n {
			host := fmt.Sprintf("10.0.%d.%d", hostBase, 11+i)
			name := fmt.Sprintf("%s%d%s", prefix, i+1, suffix)
			names = append(names, name)
			out = append(out, cluster.Server{
				ID: fmt.Sprintf("%s-id-%d", prefix, i+1), Name: name,
				Address: fmt.Sprintf("%s:%d", host, port), Host: host, Datacenter: "dc1",
				Leader: i == leader, Voter: true, InRaft: true, RaftProtocol: "3",
				Version: "1.9.4", Status: "alive", Healthy: true, SerfStatus: "alive",
			})
		}
		return out, out[leader].Address, names
	}
	ns, nl, nnames := servers(nn, "s", ".global", 0, 4647)
	consulBase := 2
	if shared {
		consulBase = 0
	}
	cs, cl, cnames := servers(cn, "c", "", consulBase, 8300)
	g.nomad, g.consul = nnames, cnames
	var nodes []cluster.Node
	for i := range kn {
		capacity := 2 + r.IntN(5)
		allocs := r.IntN(capacity + 1)
		name := fmt.Sprintf("n%d", i+1)
		g.nodes = append(g.nodes, name)
		nodes = append(nodes, cluster.Node{
			ID: fmt.Sprintf("node-id-%d", i+1), Name: name, Address: fmt.Sprintf("10.0.1.%d", 11+i),
			Datacenter: "dc1", NodePool: "default", Meta: map[string]string{"capacity": fmt.Sprint(capacity)},
			Status: "ready", Eligibility: "eligible", Version: "1.9.4", ModifyIndex: uint64(100 + i),
			Allocs: cluster.AllocCount{NonTerminal: allocs},
			// The same capacity in the scheduler's terms, one allocation
			// taking 100 MHz and 100 MB, so the capacity rule and the
			// model count the same room.
			Resources: &cluster.Resources{CPU: int64(capacity) * 100, MemoryMB: int64(capacity) * 100,
				AllocatedCPU: int64(allocs) * 100, AllocatedMemoryMB: int64(allocs) * 100},
		})
	}
	raft := func(s []cluster.Server, leader string) cluster.RaftView {
		return cluster.RaftView{LeaderAddress: leader, Servers: s,
			Autopilot: cluster.Autopilot{Healthy: true, FailureTolerance: len(s) - (len(s)/2 + 1), StatusCode: 200}}
	}
	g.view = &cluster.View{
		Taken:  taken,
		Nomad:  &cluster.NomadView{Address: "http://10.0.0.11:4646", Region: "global", Raft: raft(ns, nl), Nodes: nodes},
		Consul: &cluster.ConsulView{Address: "http://10.0.2.11:8500", Datacenter: "dc1", Raft: raft(cs, cl)},
	}
}

func (g *smallGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *smallGen) chance(n int) bool        { return g.r.IntN(n) == 0 }

// common writes the attributes every kind of step may have: depends_on on
// earlier steps, on_failure, retry and a waiver.
func (g *smallGen) common(b *strings.Builder, composite bool) {
	var deps []string
	for _, d := range g.names {
		if g.chance(2) || strings.HasPrefix(d, "snap") && g.r.IntN(4) != 0 {
			deps = append(deps, "step."+d)
		}
	}
	if len(deps) > 0 {
		fmt.Fprintf(b, "  depends_on = [%s]\n", strings.Join(deps, ", "))
	}
	if g.chance(4) {
		fmt.Fprintf(b, "  on_failure = %q\n", g.pick("abort", "continue", "pause"))
	}
	if !composite && g.chance(6) {
		b.WriteString("  retry {\n    attempts = 2\n    delay    = \"1s\"\n  }\n")
	}
	if g.chance(6) {
		fmt.Fprintf(b, "  allow_unsafe {\n    rules  = [\"NR-S%03d\"]\n    reason = \"generated\"\n  }\n", 1+g.r.IntN(10))
	}
}

func (g *smallGen) serverSet(c string) string {
	if c == "nomad" && g.chance(4) {
		return "data.nomad_servers.all.followers"
	}
	return "data." + c + "_servers.all.by_name"
}

func (g *smallGen) oneServer(c string) string {
	names := g.nomad
	if c == "consul" {
		names = g.consul
	}
	return fmt.Sprintf("data.%s_servers.all.by_name[%q]", c, names[g.r.IntN(len(names))])
}

func (g *smallGen) oneNode() string {
	return fmt.Sprintf("data.nomad_nodes.all.by_name[%q]", g.nodes[g.r.IntN(len(g.nodes))])
}

func (g *smallGen) serverGuards(b *strings.Builder, indent string, forEach bool) {
	if g.r.IntN(6) != 0 {
		b.WriteString(indent + "precondition \"quorum_ok\" {}\n")
	}
	if forEach && g.chance(3) {
		fmt.Fprintf(b, "%sprecondition \"leader_not_target\" {\n%s  transfer = %v\n%s}\n", indent, indent, g.chance(2), indent)
	}
}

func (g *smallGen) healthWait(b *strings.Builder, indent string) {
	switch g.r.IntN(6) {
	case 0:
	case 1:
		b.WriteString(indent + "wait \"servers_healthy\" {\n" + indent + "  timeout = \"5m\"\n" + indent + "}\n")
	default:
		b.WriteString(indent + "wait \"server_healthy\" {\n" + indent + "  timeout = \"5m\"\n" + indent + "}\n")
	}
}

func (g *smallGen) step(b *strings.Builder, i int) {
	name := fmt.Sprintf("s%d", i)
	fmt.Fprintf(b, "step %q {\n", name)
	c := g.pick("nomad", "consul")
	composite := false
	switch k := g.r.IntN(12); k {
	case 0: // snapshot
		fmt.Fprintf(b, "  action \"%s_snapshot_save\" {\n    path = \"%s.snap\"\n  }\n", c, name)
	case 1, 2: // rolling restart over a server set
		fmt.Fprintf(b, "  for_each     = %s\n  max_parallel = %d\n", g.serverSet(c), 1+g.r.IntN(2))
		if g.r.IntN(3) != 0 {
			b.WriteString("  order        = \"leader_last\"\n")
		}
		g.serverGuards(b, "  ", true)
		fmt.Fprintf(b, "  action \"exec\" {\n    command = [\"ssh\", each.value.address, \"restart\"]\n    effect  = \"restart\"\n  }\n")
		g.healthWait(b, "  ")
	case 3: // composite upgrade: stop, swap, start
		composite = true
		fmt.Fprintf(b, "  for_each     = %s\n  max_parallel = %d\n", g.serverSet(c), 1+g.r.IntN(2))
		if g.r.IntN(3) != 0 {
			b.WriteString("  order        = \"leader_last\"\n")
		}
		g.serverGuards(b, "  ", true)
		b.WriteString("  step \"stop\" {\n    action \"exec\" {\n      command = [\"ssh\", each.value.address, \"stop\"]\n      effect  = \"stop\"\n    }\n  }\n")
		b.WriteString("  step \"swap\" {\n    depends_on = [step.stop]\n    action \"exec\" {\n      command = [\"true\"]\n      effect  = \"none\"\n    }\n  }\n")
		b.WriteString("  step \"start\" {\n    depends_on = [step.swap]\n    action \"exec\" {\n      command = [\"ssh\", each.value.address, \"start\"]\n      effect  = \"start\"\n    }\n")
		g.healthWait(b, "    ")
		b.WriteString("  }\n")
	case 4: // one server: restart, stop, start or destroy
		fmt.Fprintf(b, "  target = %s\n", g.oneServer(c))
		g.serverGuards(b, "  ", false)
		fmt.Fprintf(b, "  action \"exec\" {\n    command = [\"true\"]\n    effect  = %q\n  }\n", g.pick("restart", "stop", "start", "destroy"))
		g.healthWait(b, "  ")
	case 5: // force-leave or remove-peer of one server
		srv := g.oneServer(c)
		act := g.pick(c+"_raft_remove_peer", c+"_force_leave")
		if act == "nomad_force_leave" {
			act = "nomad_server_force_leave"
		}
		attr := "server"
		if act == "consul_force_leave" {
			attr = "node"
		}
		g.serverGuards(b, "  ", false)
		fmt.Fprintf(b, "  action %q {\n    %s = %s\n  }\n", act, attr, srv)
		if g.chance(2) {
			b.WriteString("  wait \"raft_peer_absent\" {\n    server  = " + srv + "\n    timeout = \"2m\"\n  }\n")
		}
	case 6: // composite: stop one server for good and take it out of Raft
		composite = true
		fmt.Fprintf(b, "  for_each     = %s\n  max_parallel = 1\n", g.serverSet(c))
		if g.r.IntN(2) == 0 {
			b.WriteString("  order        = \"leader_last\"\n")
		}
		g.serverGuards(b, "  ", true)
		act := c + "_raft_remove_peer"
		if g.chance(2) {
			act = map[string]string{"nomad": "nomad_server_force_leave", "consul": "consul_force_leave"}[c]
		}
		b.WriteString("  step \"stop\" {\n    action \"exec\" {\n      command = [\"true\"]\n      effect  = \"stop\"\n    }\n  }\n")
		fmt.Fprintf(b, "  step \"remove\" {\n    depends_on = [step.stop]\n    action %q {}\n  }\n", act)
	case 7: // drain clients
		fmt.Fprintf(b, "  for_each     = data.nomad_nodes.all.by_name\n  max_parallel = %d\n  target       = each.value\n", 1+g.r.IntN(3))
		if g.r.IntN(4) != 0 {
			b.WriteString("  action \"nomad_node_drain\" {\n    deadline = \"30m\"\n  }\n")
		} else {
			b.WriteString("  action \"nomad_node_drain\" {}\n")
		}
		if g.r.IntN(3) != 0 {
			b.WriteString("  wait \"node_drained\" {\n    timeout = \"40m\"\n  }\n")
		}
	case 8: // clients: drain then destroy, as a composite or as one node
		composite = true
		if g.chance(2) {
			fmt.Fprintf(b, "  for_each     = data.nomad_nodes.all.by_name\n  max_parallel = %d\n  target       = each.value\n", 1+g.r.IntN(2))
		} else {
			fmt.Fprintf(b, "  target = %s\n", g.oneNode())
		}
		b.WriteString("  step \"drain\" {\n    action \"nomad_node_drain\" {\n      deadline = \"30m\"\n    }\n")
		if g.r.IntN(3) != 0 {
			b.WriteString("    wait \"node_drained\" {\n      timeout = \"40m\"\n    }\n")
		}
		b.WriteString("  }\n")
		fmt.Fprintf(b, "  step \"destroy\" {\n    depends_on = [step.drain]\n    action \"exec\" {\n      command = [\"true\"]\n      effect  = %q\n    }\n  }\n", g.pick("destroy", "stop"))
	case 9: // one client: destroy, eligibility or restart
		fmt.Fprintf(b, "  target = %s\n", g.oneNode())
		switch g.r.IntN(3) {
		case 0:
			b.WriteString("  precondition \"node_drained\" {}\n  action \"exec\" {\n    command = [\"true\"]\n    effect  = \"destroy\"\n  }\n")
		case 1:
			fmt.Fprintf(b, "  action \"nomad_node_eligibility\" {\n    eligible = %v\n  }\n  wait \"node_ineligible\" {\n    timeout = \"1m\"\n  }\n", false)
		default:
			b.WriteString("  precondition \"node_ready\" {}\n  action \"exec\" {\n    command = [\"true\"]\n    effect  = \"restart\"\n  }\n  wait \"node_ready\" {\n    timeout = \"1m\"\n  }\n")
		}
	case 10: // terraform: new servers, or destroy of a node or server
		if g.chance(2) {
			n := 1 + g.r.IntN(2)
			fmt.Fprintf(b, "  action \"terraform_apply\" {\n    terraform = terraform.fleet\n    creates = {\n      %s_servers = %d\n    }\n  }\n", c, n)
			if g.chance(2) {
				have := len(g.nomad)
				if c == "consul" {
					have = len(g.consul)
				}
				fmt.Fprintf(b, "  wait \"servers_healthy\" {\n    cluster = %q\n    count   = %d\n    timeout = \"10m\"\n  }\n", c, have+n)
			}
		} else {
			what := g.oneNode()
			if g.chance(2) {
				what = g.oneServer(c)
				g.serverGuards(b, "  ", false)
			}
			fmt.Fprintf(b, "  action \"terraform_apply\" {\n    terraform = terraform.fleet\n    destroys  = [%s]\n  }\n", what)
		}
	default: // no cluster effect, or one the Raft model ignores
		switch g.r.IntN(7) {
		case 0:
			b.WriteString("  action \"approval\" {\n    message = \"go on?\"\n  }\n")
		case 1:
			b.WriteString("  action \"sleep\" {\n    duration = \"1s\"\n  }\n")
		case 2:
			b.WriteString("  action \"nomad_raft_transfer_leadership\" {}\n  precondition \"servers_version\" {\n    version = \"1.9.4\"\n  }\n")
		case 3:
			fmt.Fprintf(b, "  target = %s\n  action \"consul_maintenance\" {\n    reason = \"generated\"\n  }\n  wait \"consul_maintenance\" {\n    timeout = \"1m\"\n  }\n", g.oneServer("consul"))
		case 4:
			b.WriteString("  action \"nomad_job_revert\" {\n    job     = \"web\"\n    version = 3\n  }\n  wait \"deployment_successful\" {\n    job     = \"web\"\n    timeout = \"5m\"\n  }\n")
		case 5:
			b.WriteString("  action \"nomad_deployment_promote\" {\n    job = \"web\"\n  }\n  wait \"deployment_canaries_healthy\" {\n    job     = \"web\"\n    timeout = \"5m\"\n  }\n")
		default:
			b.WriteString("  precondition \"http_ok\" {\n    url = \"http://127.0.0.1/\"\n  }\n  action \"exec\" {\n    command = [\"true\"]\n    effect  = \"none\"\n  }\n  wait \"raft_peer_present\" {\n    server  = " + g.oneServer(c) + "\n    timeout = \"1m\"\n  }\n")
		}
	}
	g.common(b, composite)
	b.WriteString("}\n\n")
	g.names = append(g.names, name)
}
