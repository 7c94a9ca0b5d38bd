package checks

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

func loadView(t *testing.T, name string) *cluster.View {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "views", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v cluster.View
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a fixture field the View lacks is a typo
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &v
}

func server(name string) Target { return Target{Kind: lang.TargetNomadServer, Name: name} }
func node(name string) Target   { return Target{Kind: lang.TargetNomadNode, Name: name} }
func consulServer(name string) Target {
	return Target{Kind: lang.TargetConsulServer, Name: name}
}
func ptr[T any](v T) *T { return &v }

func TestEval(t *testing.T) {
	cases := map[string]struct {
		view   string
		check  string
		args   Args
		target Target
		ok     bool
		want   string
	}{
		// quorum_ok
		"quorum healthy follower": {
			view: "healthy3", check: "quorum_ok", target: server("s2"), ok: true,
			want: "quorum_ok: 3/3 voters healthy, failure tolerance 1, target s2 is a voter -> tolerance after disruption 0: ok",
		},
		"quorum healthy leader": {
			view: "healthy3", check: "quorum_ok", target: server("s1"), ok: true,
			want: "quorum_ok: 3/3 voters healthy, failure tolerance 1, target s1 is a voter -> tolerance after disruption 0: ok",
		},
		"quorum follower down, other target": {
			view: "follower_down", check: "quorum_ok", target: server("s2"),
			want: "quorum_ok: 2/3 voters healthy, failure tolerance 0, target s2 is a voter -> tolerance after disruption -1: not ok: taking s2 down would leave 1 of 3 voters healthy, below the quorum of 2; wait for the other servers to become healthy, or add servers first",
		},
		"quorum follower down, target is the down one": {
			view: "follower_down", check: "quorum_ok", target: server("s3"), ok: true,
			want: "quorum_ok: 2/3 voters healthy, failure tolerance 0, target s3 is an unhealthy voter -> tolerance after disruption 0: ok",
		},
		"quorum leader down, new leader targeted": {
			view: "leader_down", check: "quorum_ok", target: server("s2"),
			want: "quorum_ok: 2/3 voters healthy, failure tolerance 0, target s2 is a voter -> tolerance after disruption -1: not ok: taking s2 down would leave 1 of 3 voters healthy, below the quorum of 2; wait for the other servers to become healthy, or add servers first",
		},
		"quorum five with two down": {
			view: "five_two_down", check: "quorum_ok", target: server("s1"),
			want: "quorum_ok: 3/5 voters healthy, failure tolerance 0, target s1 is a voter -> tolerance after disruption -1: not ok: taking s1 down would leave 2 of 5 voters healthy, below the quorum of 3; wait for the other servers to become healthy, or add servers first",
		},
		"quorum five with two down, dead target": {
			view: "five_two_down", check: "quorum_ok", target: server("s5"), ok: true,
			want: "quorum_ok: 3/5 voters healthy, failure tolerance 0, target s5 is an unhealthy voter -> tolerance after disruption 0: ok",
		},
		"quorum single server": {
			view: "single", check: "quorum_ok", target: server("s1"),
			want: "quorum_ok: 1/1 voters healthy, failure tolerance 0, target s1 is a voter -> tolerance after disruption -1: not ok: taking s1 down would leave 0 of 1 voters healthy, below the quorum of 1; wait for the other servers to become healthy, or add servers first",
		},
		"quorum non-voter target": {
			view: "upgrade_mixed", check: "quorum_ok", target: server("s4"), ok: true,
			want: "quorum_ok: 3/3 voters healthy, failure tolerance 1, target s4 is not a voter -> tolerance after disruption 1: ok",
		},
		"quorum target not in raft": {
			view: "upgrade_mixed", check: "quorum_ok", target: server("s9"), ok: true,
			want: "quorum_ok: 3/3 voters healthy, failure tolerance 1, target s9 is not a Raft peer -> tolerance after disruption 1: ok",
		},
		"quorum node target": {
			view: "healthy3", check: "quorum_ok", target: node("c1"), ok: true,
			want: "quorum_ok: 3/3 voters healthy, failure tolerance 1, no server target -> cluster at quorum: ok",
		},
		"quorum no target, at quorum with zero tolerance": {
			view: "follower_down", check: "quorum_ok", ok: true,
			want: "quorum_ok: 2/3 voters healthy, failure tolerance 0, no server target -> cluster at quorum: ok",
		},
		"quorum no leader, no target": {
			view: "no_leader", check: "quorum_ok",
			want: "quorum_ok: 0/3 voters healthy, failure tolerance -2 (autopilot unavailable: no leader), no server target -> cluster below quorum: not ok: only 0 healthy voters of 3, quorum needs 2; restore the failed servers before going on",
		},
		"quorum no leader, server target": {
			view: "no_leader", check: "quorum_ok", target: server("s1"),
			want: "quorum_ok: 0/3 voters healthy, failure tolerance -2 (autopilot unavailable: no leader), target s1 is an unhealthy voter -> tolerance after disruption -2: not ok: the cluster is already below quorum (0 healthy voters of 3, quorum needs 2); restore the failed servers before going on",
		},
		"quorum consul by target kind": {
			view: "healthy3", check: "quorum_ok", target: consulServer("cs2"), ok: true,
			want: "quorum_ok: 3/3 voters healthy, failure tolerance 1, target cs2 is a voter -> tolerance after disruption 0: ok",
		},
		"quorum consul missing": {
			view: "follower_down", check: "quorum_ok", args: Args{Cluster: "consul"},
			want: "quorum_ok: not ok: the cluster view has no Consul data; add a consul block or set CONSUL_HTTP_ADDR so nrun reads Consul",
		},
		"quorum bad cluster": {
			view: "healthy3", check: "quorum_ok", args: Args{Cluster: "vault"},
			want: `quorum_ok: not ok: cluster is "vault"; it must be "nomad" or "consul"`,
		},
		"quorum server arg overrides a node target": {
			view: "follower_down", check: "quorum_ok", target: node("c1"), args: Args{Server: ptr(server("s1"))},
			want: "quorum_ok: 2/3 voters healthy, failure tolerance 0, target s1 is a voter -> tolerance after disruption -1: not ok: taking s1 down would leave 1 of 3 voters healthy, below the quorum of 2; wait for the other servers to become healthy, or add servers first",
		},

		// leader_not_target
		"leader follower": {
			view: "healthy3", check: "leader_not_target", target: server("s2"), ok: true,
			want: "leader_not_target: leader is s1.global, target s2: ok",
		},
		"leader is target": {
			view: "healthy3", check: "leader_not_target", target: server("s1"),
			want: `leader_not_target: leader is s1.global, target s1: not ok: s1 is the leader; set transfer = true to move leadership first, or use order = "leader_last"`,
		},
		"leader is target, transfer": {
			view: "healthy3", check: "leader_not_target", target: server("s1.global"), args: Args{Transfer: true},
			want: "leader_not_target: leader is s1.global, target s1.global: not ok: s1.global is the leader; the executor transfers leadership away before the action",
		},
		"leader moved after the old one died": {
			view: "leader_down", check: "leader_not_target", target: server("s1"), ok: true,
			want: "leader_not_target: leader is s2.global, target s1: ok",
		},
		"leader by address": {
			view: "leader_down", check: "leader_not_target", target: Target{Kind: lang.TargetNomadServer, Address: "127.0.0.1:4657"},
			want: `leader_not_target: leader is s2.global, target 127.0.0.1:4657: not ok: 127.0.0.1:4657 is the leader; set transfer = true to move leadership first, or use order = "leader_last"`,
		},
		"leader none": {
			view: "no_leader", check: "leader_not_target", target: server("s2"),
			want: "leader_not_target: the nomad cluster has no leader: not ok: without a leader nrun cannot tell whether the target leads; wait for an election",
		},
		"leader no server target": {
			view: "healthy3", check: "leader_not_target", target: node("c1"),
			want: "leader_not_target: not ok: the step has no server target; set target to a server or give the check a server argument",
		},

		// server_healthy, servers_healthy
		"server healthy": {
			view: "healthy3", check: "server_healthy", target: server("s2"), ok: true,
			want: "server_healthy: s2: autopilot healthy, serf alive, voter: ok",
		},
		"server unhealthy": {
			view: "follower_down", check: "server_healthy", target: server("s3"),
			want: "server_healthy: s3: autopilot unhealthy, serf failed, voter: not ok: autopilot does not yet count s3 healthy (alive, in Raft, caught up with the leader)",
		},
		"server unknown": {
			view: "healthy3", check: "server_healthy", target: server("s7"),
			want: "server_healthy: s7 is not a server of the nomad cluster: not ok: the server is unknown to both Raft and gossip; check that it runs and has joined",
		},
		"server healthy no leader": {
			view: "no_leader", check: "server_healthy", target: server("s1"),
			want: "server_healthy: s1: autopilot unhealthy, serf alive, voter: not ok: autopilot has no answer without a leader",
		},
		"servers healthy": {
			view: "healthy3", check: "servers_healthy", args: Args{Count: ptr(3)}, ok: true,
			want: "servers_healthy: autopilot healthy, 3/3 voters healthy, want at least 3: ok",
		},
		"servers healthy, too few": {
			view: "healthy3", check: "servers_healthy", args: Args{Count: ptr(5)},
			want: "servers_healthy: autopilot healthy, 3/3 voters healthy, want at least 5: not ok: only 3 healthy voters, 2 short",
		},
		"servers unhealthy": {
			view: "five_two_down", check: "servers_healthy",
			want: "servers_healthy: autopilot unhealthy, 3/5 voters healthy: not ok: autopilot reports the cluster unhealthy; unhealthy: s4.global, s5.global",
		},
		"servers no leader": {
			view: "no_leader", check: "servers_healthy",
			want: "servers_healthy: autopilot unavailable (no leader), 0/3 voters healthy: not ok: autopilot reports the cluster unhealthy; unhealthy: s1.global, s2.global, s3.global",
		},
		"servers healthy consul": {
			view: "healthy3", check: "servers_healthy", args: Args{Cluster: "consul"}, ok: true,
			want: "servers_healthy: autopilot healthy, 3/3 voters healthy: ok",
		},

		// raft_peer_present / absent
		"peer present": {
			view: "healthy3", check: "raft_peer_present", target: server("s3"), ok: true,
			want: "raft_peer_present: s3 (127.0.0.1:4667) is a Raft peer (voter), configuration index 26: ok",
		},
		"peer present by ID arg": {
			view: "upgrade_mixed", check: "raft_peer_present", args: Args{Server: &Target{ID: "6b0c8b1a-2f0e-4a4c-9a57-1f0c5c1a0004"}}, ok: true,
			want: "raft_peer_present: 6b0c8b1a-2f0e-4a4c-9a57-1f0c5c1a0004 (127.0.0.1:4677) is a Raft peer (non-voter), configuration index 44: ok",
		},
		"peer present but gossip only": {
			view: "upgrade_mixed", check: "raft_peer_present", target: server("s9"),
			want: "raft_peer_present: s9 is not in the nomad Raft configuration (index 44): not ok: the server has not joined Raft yet; check that it runs and can reach the other servers",
		},
		"peer absent": {
			view: "upgrade_mixed", check: "raft_peer_absent", target: server("s9"), ok: true,
			want: "raft_peer_absent: s9 is not in the nomad Raft configuration (index 44): ok",
		},
		"peer absent but still there": {
			view: "follower_down", check: "raft_peer_absent", target: server("s3"),
			want: "raft_peer_absent: s3 (127.0.0.1:4667) is a Raft peer (voter), configuration index 26: not ok: the server is still a Raft peer; remove it (raft_remove_peer) or let autopilot's dead-server cleanup run",
		},
		"peer absent by address arg": {
			view: "healthy3", check: "raft_peer_absent", args: Args{Server: &Target{Address: "127.0.0.1:4999"}}, ok: true,
			want: "raft_peer_absent: 127.0.0.1:4999 is not in the nomad Raft configuration (index 26): ok",
		},

		// node checks
		"node ready": {
			view: "healthy3", check: "node_ready", target: node("c1"), ok: true,
			want: "node_ready: c1: status ready, eligible: ok",
		},
		"node down": {
			view: "draining", check: "node_ready", target: node("c4"),
			want: "node_ready: c4: status down, ineligible: not ok: the node is down, not ready; check that its Nomad client runs and reaches the servers",
		},
		"node unknown": {
			view: "healthy3", check: "node_ready", target: node("c9"),
			want: "node_ready: node c9 is not in the view: not ok: the node is unknown; check its name or ID and that the snapshot read nodes",
		},
		"node by ID arg": {
			view: "healthy3", check: "node_ineligible", target: server("s1"), args: Args{Node: &Target{ID: "c0ffee00-0000-4000-8000-000000000002"}}, ok: true,
			want: "node_ineligible: c0ffee00-0000-4000-8000-000000000002: ineligible: ok",
		},
		"node eligible": {
			view: "healthy3", check: "node_ineligible", target: node("c1"),
			want: "node_ineligible: c1: eligible: not ok: the node can still receive allocations; mark it ineligible or drain it first",
		},
		"node draining is ineligible": {
			view: "draining", check: "node_ineligible", target: node("c3"), ok: true,
			want: "node_ineligible: c3: ineligible, draining: ok",
		},
		"node no target": {
			view: "healthy3", check: "node_ready", target: server("s1"),
			want: "node_ready: not ok: the step has no node target; set target to a node or give the check a node argument",
		},
		"drained but allocs left": {
			view: "draining", check: "node_drained", target: node("c1"),
			want: "node_drained: c1: last drain complete, 3 allocations running (1 system): not ok: the drain reports complete but 2 allocations of non-system jobs still run; wait for them to stop",
		},
		"drained with system allocs only": {
			view: "draining", check: "node_drained", target: node("c2"), ok: true,
			want: "node_drained: c2: last drain complete, 1 allocation running (1 system): ok",
		},
		"drain in progress": {
			view: "draining", check: "node_drained", target: node("c3"),
			want: "node_drained: c3: last drain draining, 4 allocations running (0 system): not ok: the drain is still in progress",
		},
		"never drained": {
			view: "draining", check: "node_drained", target: node("c4"),
			want: "node_drained: c4: no drain recorded, 0 allocations running (0 system): not ok: the node has never been drained; drain it first",
		},
		"drain canceled": {
			view: "draining", check: "node_drained", target: node("c5"),
			want: "node_drained: c5: last drain canceled, 2 allocations running (0 system): not ok: the last drain ended canceled, not complete; drain the node again",
		},

		// consul_maintenance
		"maintenance on": {
			view: "healthy3", check: "consul_maintenance", target: node("c1"), ok: true,
			want: `consul_maintenance: c1: maintenance on ("nomad upgrade"): ok`,
		},
		"maintenance expected off": {
			view: "healthy3", check: "consul_maintenance", target: node("c1"), args: Args{Enabled: ptr(false)},
			want: `consul_maintenance: c1: maintenance on ("nomad upgrade"): not ok: the node is still in maintenance mode; disable it (consul_maintenance with enable = false)`,
		},
		"maintenance off": {
			view: "healthy3", check: "consul_maintenance", target: consulServer("cs2"),
			want: "consul_maintenance: cs2: maintenance off: not ok: the node is not in maintenance mode; enable it first (consul_maintenance action)",
		},
		"maintenance nomad server name": {
			view: "healthy3", check: "consul_maintenance", target: server("s2.global"), args: Args{Enabled: ptr(false)}, ok: true,
			want: "consul_maintenance: s2: maintenance off: ok",
		},
		"maintenance unknown node": {
			view: "healthy3", check: "consul_maintenance", args: Args{Node: &Target{Name: "zz"}},
			want: "consul_maintenance: zz is not in the Consul catalog: not ok: check the node name; Consul knows nodes by their agent's node_name",
		},
		"maintenance without consul": {
			view: "follower_down", check: "consul_maintenance", target: node("c1"),
			want: "consul_maintenance: not ok: the cluster view has no Consul data; add a consul block or set CONSUL_HTTP_ADDR so nrun reads Consul",
		},

		// deployment_successful
		"deployment ok": {
			view: "healthy3", check: "deployment_successful", args: Args{Job: "web"}, ok: true,
			want: "deployment_successful: job web v3: deployment d0000000 successful (web 2/2 healthy, canaries 1/1 promoted): ok",
		},
		"deployment by job target": {
			view: "healthy3", check: "deployment_successful", target: Target{Kind: lang.TargetJob, ID: "web"}, ok: true,
			want: "deployment_successful: job web v3: deployment d0000000 successful (web 2/2 healthy, canaries 1/1 promoted): ok",
		},
		"deployment of an older version": {
			view: "draining", check: "deployment_successful", args: Args{Job: "web"},
			want: "deployment_successful: job web v4: deployment d0000000 successful (web 2/2 healthy): not ok: the latest deployment is for version 3, the job is at version 4; wait for the new deployment",
		},
		"deployment waiting for promotion": {
			view: "draining", check: "deployment_successful", args: Args{Job: "api"},
			want: "deployment_successful: job api v2: deployment d0000000 running (api 1/3 healthy, canaries 1/1): not ok: the deployment has not finished: Deployment is running but requires manual promotion",
		},
		"deployment failed": {
			view: "draining", check: "deployment_successful", args: Args{Job: "bad"},
			want: "deployment_successful: job bad v5: deployment d0000000 failed (bad 0/2 healthy): not ok: the deployment failed: Failed due to unhealthy allocations - rolling back to job version 4",
		},
		"deployment none": {
			view: "draining", check: "deployment_successful", args: Args{Job: "cron"},
			want: "deployment_successful: job cron v1 has no deployment: not ok: only service jobs with an update block have deployments",
		},
		"deployment job missing": {
			view: "draining", check: "deployment_successful", args: Args{Job: "nope"},
			want: "deployment_successful: job nope is not in the view: not ok: the job does not exist (yet), or the snapshot did not read it",
		},
		"deployment wrong namespace": {
			view: "healthy3", check: "deployment_successful", args: Args{Job: "web", Namespace: "prod"},
			want: "deployment_successful: job web is not in the view: not ok: the job does not exist (yet), or the snapshot did not read it",
		},

		// servers_version
		"version all": {
			view: "healthy3", check: "servers_version", args: Args{Version: "1.10.0"}, ok: true,
			want: "servers_version: 3/3 nomad servers at 1.10.0: ok",
		},
		"version with v prefix": {
			view: "healthy3", check: "servers_version", args: Args{Version: "v1.10.0"}, ok: true,
			want: "servers_version: 3/3 nomad servers at 1.10.0: ok",
		},
		"version mixed, left server ignored": {
			view: "upgrade_mixed", check: "servers_version", args: Args{Version: "1.10.0"},
			want: "servers_version: 3/4 nomad servers at 1.10.0: not ok: s1.global runs 1.9.4",
		},
		"version consul": {
			view: "healthy3", check: "servers_version", args: Args{Version: "1.21.0", Cluster: "consul"}, ok: true,
			want: "servers_version: 3/3 consul servers at 1.21.0: ok",
		},
		"version missing arg": {
			view: "healthy3", check: "servers_version",
			want: "servers_version: not ok: servers_version needs a version or a min argument",
		},
		"min met by newer and equal": {
			view: "healthy3", check: "servers_version", args: Args{Min: "1.9.4"}, ok: true,
			want: "servers_version: 3/3 nomad servers at 1.9.4 or newer: ok",
		},
		"min equal": {
			view: "healthy3", check: "servers_version", args: Args{Min: "v1.10.0"}, ok: true,
			want: "servers_version: 3/3 nomad servers at 1.10.0 or newer: ok",
		},
		"min by version order, not string order": {
			view: "healthy3", check: "servers_version", args: Args{Min: "1.9.10"}, ok: true,
			want: "servers_version: 3/3 nomad servers at 1.9.10 or newer: ok",
		},
		"min not met": {
			view: "upgrade_mixed", check: "servers_version", args: Args{Min: "1.10.0"},
			want: "servers_version: 3/4 nomad servers at 1.10.0 or newer: not ok: s1.global runs 1.9.4",
		},
		"min newer than all": {
			view: "healthy3", check: "servers_version", args: Args{Min: "1.11.0"},
			want: "servers_version: 0/3 nomad servers at 1.11.0 or newer: not ok: s1.global runs 1.10.0, s2.global runs 1.10.0, s3.global runs 1.10.0",
		},

		// names
		"unknown check": {
			view: "healthy3", check: "quorum_okay",
			want: `quorum_okay: not ok: there is no check named "quorum_okay"`,
		},
		"http_ok is not pure": {
			view: "healthy3", check: "http_ok", args: Args{URL: "http://x"},
			want: "http_ok: not ok: http_ok probes a URL and is evaluated with EvalHTTP, not against a view",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := loadView(t, tc.view)
			r := Eval(tc.check, tc.args, tc.target, v)
			if r.OK != tc.ok {
				t.Errorf("OK = %v, want %v", r.OK, tc.ok)
			}
			if got := r.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if r.OK && r.Reason != "" {
				t.Errorf("an ok result carries a reason: %q", r.Reason)
			}
		})
	}
}
