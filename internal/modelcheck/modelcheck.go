package modelcheck

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// Invariants, as Violation.Invariant names them.
const (
	FailureTolerance = "failure-tolerance"
	LeaderFirst      = "leader-disrupted"
	DestroyUndrained = "destroy-undrained"
	Capacity         = "capacity"
)

// Options bound the exploration.
type Options struct {
	// MaxStates stops the search after this many distinct states
	// (default 200,000); Result.Truncated says so.
	MaxStates int
}

// Violation is one broken invariant and a schedule that reaches it.
type Violation struct {
	Invariant string
	Detail    string
	// Schedule is the transitions from the start, one line each.
	Schedule []string
	// AfterFailure is true when the schedule injected a failure.
	AfterFailure bool
}

// Result is what one exploration found.
type Result struct {
	States     int
	Truncated  bool
	Violations []Violation // the first found of each invariant
}

// Unit phases.
const (
	pending int8 = iota
	checked
	acting
	waiting
	done
	failed
	skipped
)

// Server states.
const (
	raftAbsent int8 = iota // created by a later terraform_apply
	raftJoining
	raftVoter
	raftRemoved
)

const (
	runDown int8 = iota
	runUp        // running, not yet healthy
	runHealthy
	runGone // destroyed
)

type server struct {
	cluster                 int // 0 nomad, 1 consul
	name, id, address, host string
}

type client struct {
	name, id string
	capacity int8
}

type check struct {
	name     string
	server   int // -1: the unit's target
	node     int
	cluster  int // -1: from the target
	count    int // servers_healthy count, -1 none
	transfer bool
}

type unit struct {
	addr     string
	top      int // index of the top-level unit (itself when top-level)
	parent   int
	inner    []int
	deps     []int
	leaf     bool
	step     string // the top-level step's address
	effect   lang.Effect
	action   string
	server   int // target server, -1
	node     int // target client, -1
	pre      []check
	waits    []check
	onFail   lang.OnFailure
	retries  int8
	creates  []int // server indices it brings
	destroys []int // server indices
	dnodes   []int // client indices
	eligible bool
}

type state struct {
	phase    []int8
	attempts []int8
	raft     []int8
	run      []int8
	leader   [2]int8
	elig     []bool
	gone     []bool
	drain    []int8 // 0 none, 1 draining, 2 reported complete
	usage    []int8
	failUsed bool
	halted   bool
}

func (s *state) clone() *state {
	c := *s
	c.phase = append([]int8(nil), s.phase...)
	c.attempts = append([]int8(nil), s.attempts...)
	c.raft = append([]int8(nil), s.raft...)
	c.run = append([]int8(nil), s.run...)
	c.elig = append([]bool(nil), s.elig...)
	c.gone = append([]bool(nil), s.gone...)
	c.drain = append([]int8(nil), s.drain...)
	c.usage = append([]int8(nil), s.usage...)
	return &c
}

func (s *state) key() string {
	var b strings.Builder
	for _, xs := range [][]int8{s.phase, s.attempts, s.raft, s.run, s.leader[:], s.drain, s.usage} {
		for _, x := range xs {
			b.WriteByte(byte(x))
		}
		b.WriteByte(0xff)
	}
	for _, xs := range [][]bool{s.elig, s.gone, {s.failUsed, s.halted}} {
		for _, x := range xs {
			if x {
				b.WriteByte(1)
			} else {
				b.WriteByte(0)
			}
		}
	}
	return b.String()
}

type model struct {
	units     []unit
	servers   []server
	clients   []client
	parallel  map[string]int
	leaderLst map[string]bool
	instances map[string]int // top-level units per step
	opts      Options
	seen      map[string]struct{}
	res       Result
	found     map[string]bool
	path      []string
}

// Check explores every schedule of p over the clusters of v.
func Check(p *planner.Plan, v *cluster.View, o Options) Result {
	if o.MaxStates <= 0 {
		o.MaxStates = 200_000
	}
	m := &model{opts: o, seen: map[string]struct{}{}, found: map[string]bool{},
		parallel: map[string]int{}, leaderLst: map[string]bool{}, instances: map[string]int{}}
	s := m.build(p, v)
	m.explore(s)
	m.res.States = len(m.seen)
	return m.res
}

var nameRe = regexp.MustCompile(`\bname = "([^"]*)"`)
var createsRe = regexp.MustCompile(`(nomad|consul)_servers = (\d+)`)

func (m *model) serverByRef(ref string) int {
	for i, s := range m.servers {
		if ref != "" && (s.name == ref || s.id == ref || s.address == ref) {
			return i
		}
	}
	return -1
}

func (m *model) clientByRef(ref string) int {
	for i, c := range m.clients {
		if ref != "" && (c.name == ref || c.id == ref) {
			return i
		}
	}
	return -1
}

func argOf(args []planner.Arg, name string) (string, bool) {
	for _, a := range args {
		if a.Name == name && a.Known {
			return a.Value, true
		}
	}
	return "", false
}

// objectRef returns the name inside a rendered object argument, or the
// plain string.
func objectRef(v string) string {
	if m := nameRe.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return strings.Trim(v, `"`)
}

func (m *model) build(p *planner.Plan, v *cluster.View) *state {
	s := &state{leader: [2]int8{-1, -1}}
	addRaft := func(c int, r cluster.RaftView) {
		for _, sv := range r.Servers {
			m.servers = append(m.servers, server{cluster: c, name: sv.Name, id: sv.ID, address: sv.Address, host: sv.Host})
			st, run := raftVoter, runHealthy
			if !sv.InRaft || !sv.Voter {
				st = raftRemoved
			}
			if !sv.Healthy {
				run = runDown
			}
			s.raft, s.run = append(s.raft, st), append(s.run, run)
			if sv.Address == r.LeaderAddress || r.LeaderAddress == "" && sv.Leader {
				s.leader[c] = int8(len(m.servers) - 1)
			}
		}
	}
	if v.Nomad != nil {
		addRaft(0, v.Nomad.Raft)
		for _, n := range v.Nomad.Nodes {
			capacity, _ := strconv.Atoi(n.Meta["capacity"])
			if capacity < n.Allocs.NonTerminal {
				capacity = n.Allocs.NonTerminal
			}
			m.clients = append(m.clients, client{name: n.Name, id: n.ID, capacity: int8(capacity)})
			s.elig = append(s.elig, n.Eligibility != "ineligible")
			s.gone = append(s.gone, n.Status == "down")
			s.drain = append(s.drain, 0)
			s.usage = append(s.usage, int8(n.Allocs.NonTerminal-n.Allocs.System))
		}
	}
	if v.Consul != nil {
		addRaft(1, v.Consul.Raft)
	}
	for _, st := range p.Steps {
		m.parallel[st.Addr] = max(st.MaxParallel, 1)
		m.leaderLst[st.Addr] = st.Order == string(lang.OrderLeaderLast)
	}
	byAddr := map[string]int{}
	for i, in := range p.Instances {
		byAddr[in.Addr.String()] = i
	}
	m.units = make([]unit, len(p.Instances))
	for i, in := range p.Instances {
		u := &m.units[i]
		u.addr, u.parent, u.top, u.server, u.node = in.Addr.String(), -1, i, -1, -1
		if in.Parent != "" {
			u.parent = byAddr[in.Parent]
			u.top = u.parent
			m.units[u.parent].inner = append(m.units[u.parent].inner, i)
		}
		u.step = p.Instances[u.top].Step.String()
		if u.parent < 0 {
			m.instances[u.step]++
		}
		u.onFail = p.Instances[u.top].OnFailure
		u.server, u.node = m.target(in.Target)
		for _, c := range in.Preconditions {
			u.pre = append(u.pre, m.check(c))
		}
		for _, c := range in.Waits {
			u.waits = append(u.waits, m.check(c))
		}
		if in.Retry != nil {
			u.retries = int8(in.Retry.Attempts)
		}
		if in.Action == nil {
			continue
		}
		u.leaf, u.effect, u.action = true, in.Action.Effect, in.Action.Type
		switch u.action {
		case "terraform_apply":
			if c, ok := argOf(in.Action.Args, "creates"); ok {
				for _, mm := range createsRe.FindAllStringSubmatch(c, -1) {
					cl := 0
					if mm[1] == "consul" {
						cl = 1
					}
					n, _ := strconv.Atoi(mm[2])
					for k := range n {
						m.servers = append(m.servers, server{cluster: cl, name: fmt.Sprintf("new-%s-%d", u.addr, k)})
						s.raft, s.run = append(s.raft, raftAbsent), append(s.run, runDown)
						u.creates = append(u.creates, len(m.servers)-1)
					}
				}
			}
			if d, ok := argOf(in.Action.Args, "destroys"); ok {
				for _, mm := range nameRe.FindAllStringSubmatch(d, -1) {
					if si := m.serverByRef(mm[1]); si >= 0 {
						u.destroys = append(u.destroys, si)
					} else if ci := m.clientByRef(mm[1]); ci >= 0 {
						u.dnodes = append(u.dnodes, ci)
					}
				}
			}
		case "nomad_node_eligibility":
			e, _ := argOf(in.Action.Args, "eligible")
			u.eligible = e == "true"
		}
	}
	// Dependencies, after every unit exists.
	for i, in := range p.Instances {
		u := &m.units[i]
		for _, d := range in.DependsOn {
			if j, ok := byAddr[d]; ok {
				u.deps = append(u.deps, j)
				continue
			}
			for j, o := range p.Instances {
				if o.Parent == "" && o.Step.String() == d {
					u.deps = append(u.deps, j)
				}
			}
		}
	}
	s.phase = make([]int8, len(m.units))
	s.attempts = make([]int8, len(m.units))
	return s
}

func (m *model) target(t planner.Target) (srv, node int) {
	srv, node = -1, -1
	switch t.Kind {
	case lang.TargetNomadServer, lang.TargetConsulServer:
		want := 0
		if t.Kind == lang.TargetConsulServer {
			want = 1
		}
		for i, s := range m.servers {
			if s.cluster == want && (s.name == t.Name || s.id == t.ID || s.address == t.Address) {
				return i, -1
			}
		}
	case lang.TargetNomadNode:
		return -1, m.clientByRef(t.Name)
	}
	return
}

func (m *model) check(c planner.CheckPlan) check {
	k := check{name: c.Name, server: -1, node: -1, cluster: -1, count: -1}
	if v, ok := argOf(c.Args, "server"); ok {
		k.server = m.serverByRef(objectRef(v))
	}
	if v, ok := argOf(c.Args, "node"); ok {
		k.node = m.clientByRef(objectRef(v))
	}
	if v, ok := argOf(c.Args, "cluster"); ok {
		if strings.Trim(v, `"`) == "consul" {
			k.cluster = 1
		} else {
			k.cluster = 0
		}
	}
	if v, ok := argOf(c.Args, "count"); ok {
		k.count, _ = strconv.Atoi(v)
	}
	if v, ok := argOf(c.Args, "transfer"); ok {
		k.transfer = v == "true"
	}
	return k
}
