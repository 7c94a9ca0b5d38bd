package modelcheck

import (
	"fmt"

	"github.com/nrun-dev/nrun/lang"
)

// explore is a depth-first search over the states reachable from s, each
// visited once.
func (m *model) explore(s *state) {
	m.settle(s)
	k := s.key()
	if _, ok := m.seen[k]; ok {
		return
	}
	if len(m.seen) >= m.opts.MaxStates {
		m.res.Truncated = true
		return
	}
	m.seen[k] = struct{}{}
	if d := m.quorumLost(s); d != "" {
		m.violate(s, FailureTolerance, d)
		return
	}
	for _, t := range m.successors(s) {
		m.path = append(m.path, t.label)
		if t.violation != "" {
			m.violate(t.next, t.invariant, t.violation)
		} else {
			m.explore(t.next)
		}
		m.path = m.path[:len(m.path)-1]
	}
}

func (m *model) violate(s *state, inv, detail string) {
	if m.found[inv] {
		return
	}
	m.found[inv] = true
	m.res.Violations = append(m.res.Violations, Violation{Invariant: inv, Detail: detail,
		Schedule: append([]string(nil), m.path...), AfterFailure: s.failUsed})
}

type transition struct {
	label                string
	next                 *state
	invariant, violation string
}

// available counts a cluster's voters and its healthy voters.
func (m *model) available(s *state, c int) (voters, healthy int) {
	for i, sv := range m.servers {
		if sv.cluster == c && s.raft[i] == raftVoter {
			voters++
			if s.run[i] == runHealthy {
				healthy++
			}
		}
	}
	return
}

func (m *model) quorumLost(s *state) string {
	for c, name := range []string{"Nomad", "Consul"} {
		v, h := m.available(s, c)
		if v == 0 {
			continue
		}
		if q := v/2 + 1; h < q {
			return fmt.Sprintf("%s: %d of %d voters unavailable, failure tolerance %d", name, v-h, v, v-q)
		}
	}
	return ""
}

func (m *model) inFlight(s *state, i int) bool {
	return s.phase[i] >= checked && s.phase[i] <= waiting
}

// settle applies what follows without a choice: a composite whose inner
// instances are done moves to its waits, one with a failed inner instance
// fails, and instances behind a failure that does not stop the run are
// skipped.
func (m *model) settle(s *state) {
	for changed := true; changed; {
		changed = false
		for i := range m.units {
			u := &m.units[i]
			ph := s.phase[i]
			if !u.leaf && ph == checked {
				all, bad := true, false
				for _, j := range u.inner {
					all = all && s.phase[j] == done
					bad = bad || s.phase[j] == failed
				}
				switch {
				case bad:
					m.fail(s, i)
					changed = true
				case all:
					s.phase[i] = waiting
					changed = true
				}
				continue
			}
			if ph != pending {
				continue
			}
			for _, d := range u.deps {
				if s.phase[d] == skipped || s.phase[d] == failed && m.units[m.units[d].top].onFail == lang.OnFailureContinue {
					s.phase[i] = skipped
					changed = true
					break
				}
			}
		}
	}
}

// fail marks unit i failed; a failed inner instance fails its composite and
// skips its pending siblings; abort and pause stop new starts.
func (m *model) fail(s *state, i int) {
	s.phase[i] = failed
	u := &m.units[i]
	if u.parent >= 0 {
		for _, j := range m.units[u.parent].inner {
			if s.phase[j] == pending {
				s.phase[j] = skipped
			}
		}
		return // settle fails the composite
	}
	if u.onFail != lang.OnFailureContinue {
		s.halted = true
	}
}

func (m *model) depsDone(s *state, u *unit) bool {
	for _, d := range u.deps {
		if s.phase[d] != done {
			return false
		}
	}
	return true
}

func (m *model) successors(s *state) []transition {
	var out []transition
	add := func(label string, n *state) { out = append(out, transition{label: label, next: n}) }
	running := map[string]int{}
	for i := range m.units {
		if m.units[i].parent < 0 && m.inFlight(s, i) {
			running[m.units[i].step]++
		}
	}
	for i := range m.units {
		u := &m.units[i]
		switch s.phase[i] {
		case pending:
			if !m.depsDone(s, u) {
				continue
			}
			if u.parent < 0 {
				if s.halted || running[u.step] >= m.parallel[u.step] || m.deferLeader(s, i) {
					continue
				}
			} else if s.phase[u.parent] != checked {
				continue
			}
			out = append(out, m.start(s, i)...)
		case checked:
			if !u.leaf {
				continue
			}
			n := s.clone()
			n.phase[i] = acting
			t := transition{label: "act " + u.addr, next: n}
			t.invariant, t.violation = m.actStart(s, n, i)
			out = append(out, t)
		case acting:
			for _, n := range m.actEnd(s, i) {
				add("finish action "+u.addr, n)
			}
			if !s.failUsed {
				n := s.clone()
				n.failUsed = true
				add("fail action "+u.addr, m.failOrRetry(n, i))
			}
		case waiting:
			if m.waitsHold(s, i) {
				n := s.clone()
				n.phase[i] = done
				add("waits hold "+u.addr, n)
			} else if !s.failUsed {
				n := s.clone()
				n.failUsed = true
				m.fail(n, i)
				add("wait times out "+u.addr, n)
			}
		}
	}
	// The environment.
	for i, sv := range m.servers {
		switch {
		case s.run[i] == runUp:
			n := s.clone()
			n.run[i] = runHealthy
			add(sv.label()+" becomes healthy", n)
		case s.raft[i] == raftJoining:
			n := s.clone()
			n.raft[i], n.run[i] = raftVoter, runHealthy
			add(sv.label()+" joins Raft", n)
		}
	}
	for c := range 2 {
		v, h := m.available(s, c)
		if h < v/2+1 {
			continue
		}
		for i, sv := range m.servers {
			if sv.cluster != c || int(s.leader[c]) == i || s.raft[i] != raftVoter || s.run[i] != runHealthy || m.targetInFlight(s, i) {
				continue
			}
			n := s.clone()
			n.leader[c] = int8(i)
			add("leader moves to "+sv.label(), n)
		}
	}
	for i, c := range m.clients {
		if s.drain[i] > 0 && s.usage[i] > 0 {
			n := s.clone()
			n.usage[i] = 0
			add("allocations on "+c.name+" stop", n)
		}
	}
	return out
}

func (sv server) label() string {
	if sv.cluster == 1 {
		return "consul server " + sv.name
	}
	return "nomad server " + sv.name
}

// targetInFlight: an instance under way targets server i.
func (m *model) targetInFlight(s *state, i int) bool {
	for j := range m.units {
		if m.units[j].server == i && m.inFlight(s, j) {
			return true
		}
	}
	return false
}

// deferLeader is the executor's leader_last: the live leader's instance
// waits while another instance of the step has not finished.
func (m *model) deferLeader(s *state, i int) bool {
	u := &m.units[i]
	if !m.leaderLst[u.step] || u.server < 0 || int(s.leader[m.servers[u.server].cluster]) != u.server {
		return false
	}
	for j := range m.units {
		if j != i && m.units[j].parent < 0 && m.units[j].step == u.step && s.phase[j] <= waiting {
			return true
		}
	}
	return false
}

// checkServer is the server a check is about, and its cluster.
func (m *model) checkServer(u *unit, k check) (int, int) {
	srv := k.server
	if srv < 0 {
		srv = u.server
	}
	c := k.cluster
	if c < 0 {
		c = 0
		if srv >= 0 {
			c = m.servers[srv].cluster
		}
	}
	return srv, c
}

// start evaluates the preconditions of unit i: it fails, or it is checked
// (leader_not_target with transfer may move the leader first, to any other
// healthy voter).
func (m *model) start(s *state, i int) []transition {
	u := &m.units[i]
	states := []*state{s.clone()}
	for _, k := range u.pre {
		var next []*state
		for _, n := range states {
			srv, c := m.checkServer(u, k)
			switch k.name {
			case "quorum_ok":
				v, h := m.available(n, c)
				if srv >= 0 && n.raft[srv] == raftVoter && n.run[srv] == runHealthy {
					h--
				}
				if h >= v/2+1 {
					next = append(next, n)
				}
			case "leader_not_target":
				l := int(n.leader[c])
				switch {
				case l < 0 || srv < 0:
				case l != srv:
					next = append(next, n)
				case k.transfer:
					for j, sv := range m.servers {
						if sv.cluster == c && j != srv && n.raft[j] == raftVoter && n.run[j] == runHealthy {
							t := n.clone()
							t.leader[c] = int8(j)
							next = append(next, t)
						}
					}
				}
			default:
				if m.holds(n, u, k) {
					next = append(next, n)
				}
			}
		}
		states = next
	}
	var out []transition
	for _, n := range states {
		n.phase[i] = checked
		out = append(out, transition{label: "start " + u.addr, next: n})
	}
	if len(out) == 0 {
		n := s.clone()
		m.fail(n, i)
		out = append(out, transition{label: "precondition fails " + u.addr, next: n})
	}
	return out
}

// holds evaluates a check the model knows; the others hold.
func (m *model) holds(s *state, u *unit, k check) bool {
	srv, c := m.checkServer(u, k)
	node := k.node
	if node < 0 {
		node = u.node
	}
	switch k.name {
	case "server_healthy":
		return srv < 0 || s.run[srv] == runHealthy && s.raft[srv] == raftVoter
	case "servers_healthy":
		v, h := m.available(s, c)
		return h == v && (k.count < 0 || h >= k.count)
	case "raft_peer_present":
		if srv < 0 {
			// Waits after creates: every created server has joined.
			for _, j := range u.creates {
				if s.raft[j] != raftVoter {
					return false
				}
			}
			return true
		}
		return s.raft[srv] == raftVoter
	case "raft_peer_absent":
		return srv < 0 || s.raft[srv] != raftVoter
	case "node_ready":
		return node < 0 || !s.gone[node]
	case "node_ineligible":
		return node < 0 || !s.elig[node]
	case "node_drained":
		return node < 0 || s.drain[node] == 2 && s.usage[node] == 0
	}
	return true
}

func (m *model) waitsHold(s *state, i int) bool {
	for _, k := range m.units[i].waits {
		if !m.holds(s, &m.units[i], k) {
			return false
		}
	}
	return true
}

// disrupts reports whether the effect takes a server down.
func disrupts(e lang.Effect) bool {
	return e == lang.EffectRestart || e == lang.EffectStop || e == lang.EffectDestroy
}

// takeDown stops server j (destroy: for good, with every server on its
// host); a leader that goes down leaves the cluster without one.
func (m *model) takeDown(n *state, j int, destroy bool) {
	hosts := []int{j}
	if destroy && m.servers[j].host != "" {
		for k, o := range m.servers {
			if k != j && o.host == m.servers[j].host {
				hosts = append(hosts, k)
			}
		}
	}
	for _, k := range hosts {
		if destroy {
			n.run[k] = runGone
		} else if n.run[k] != runGone {
			n.run[k] = runDown
		}
		if c := m.servers[k].cluster; int(n.leader[c]) == k {
			n.leader[c] = -1
		}
	}
}

// actStart applies what happens when unit i's action begins (s before, n
// after) and returns a broken invariant, if any.
func (m *model) actStart(s, n *state, i int) (string, string) {
	u := &m.units[i]
	if u.server >= 0 && disrupts(u.effect) {
		j := u.server
		c := m.servers[j].cluster
		if int(s.leader[c]) == j && s.raft[j] == raftVoter && m.instances[u.step] > 1 {
			for k := range m.units {
				if k != u.top && m.units[k].parent < 0 && m.units[k].step == u.step && s.phase[k] <= waiting {
					return LeaderFirst, fmt.Sprintf("%s disrupts the leader %s while %s has not run", u.addr, m.servers[j].name, m.units[k].addr)
				}
			}
		}
		m.takeDown(n, j, u.effect == lang.EffectDestroy)
	}
	for _, j := range u.destroys {
		m.takeDown(n, j, true)
	}
	nodes := append([]int(nil), u.dnodes...)
	if u.node >= 0 && (u.effect == lang.EffectStop || u.effect == lang.EffectDestroy) {
		nodes = append(nodes, u.node)
	}
	for _, j := range nodes {
		if s.usage[j] > 0 && !s.gone[j] {
			return DestroyUndrained, fmt.Sprintf("%s takes down %s while %d allocations run on it", u.addr, m.clients[j].name, s.usage[j])
		}
		n.gone[j] = true
	}
	if u.effect == lang.EffectDrain && u.node >= 0 && n.drain[u.node] == 0 {
		j := u.node
		n.drain[j], n.elig[j] = 1, false
		need := int(s.usage[j])
		free := 0
		for k, c := range m.clients {
			if k != j && n.elig[k] && !n.gone[k] && n.drain[k] == 0 {
				free += int(c.capacity - n.usage[k])
			}
		}
		if free < need {
			return Capacity, fmt.Sprintf("%s moves %d allocations; the other eligible clients have room for %d", u.addr, need, free)
		}
		// The allocations are placed on the other clients in order; they
		// leave the drained one when its allocations stop.
		for k, c := range m.clients {
			if need == 0 {
				break
			}
			if k != j && n.elig[k] && !n.gone[k] && n.drain[k] == 0 {
				put := min(need, int(c.capacity-n.usage[k]))
				n.usage[k] += int8(put)
				need -= put
			}
		}
	}
	return "", ""
}

// actEnd applies what happens when unit i's action completes. It returns
// one state per possible outcome (a leadership transfer may pick any
// voter).
func (m *model) actEnd(s *state, i int) []*state {
	u := &m.units[i]
	n := s.clone()
	n.phase[i] = waiting
	if j := u.server; j >= 0 {
		switch u.effect {
		case lang.EffectRestart, lang.EffectStart:
			if n.run[j] == runDown {
				n.run[j] = runUp
			}
		case lang.EffectLeave, lang.EffectRemovePeer:
			// A live server that is forced out rejoins at once.
			if n.raft[j] == raftVoter && (n.run[j] == runDown || n.run[j] == runGone) {
				n.raft[j] = raftRemoved
			}
		}
	}
	if u.effect == lang.EffectDrain && u.node >= 0 {
		n.drain[u.node] = 2
	}
	if u.action == "nomad_node_eligibility" && u.node >= 0 {
		n.elig[u.node] = u.eligible
	}
	for _, j := range u.creates {
		n.raft[j] = raftJoining
	}
	if u.effect == lang.EffectLeadership {
		c := 0
		var out []*state
		for j, sv := range m.servers {
			if sv.cluster == c && int(n.leader[c]) != j && n.raft[j] == raftVoter && n.run[j] == runHealthy {
				t := n.clone()
				t.leader[c] = int8(j)
				out = append(out, t)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return []*state{n}
}

// failOrRetry: the action of unit i failed after it began; its effect so
// far stays. With retries left it runs again, else the unit fails.
func (m *model) failOrRetry(n *state, i int) *state {
	if n.attempts[i] < m.units[i].retries {
		n.attempts[i]++
		n.phase[i] = acting
		return n
	}
	m.fail(n, i)
	return n
}
