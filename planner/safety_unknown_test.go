package planner

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// planSrc plans one runbook source against an inventory.
func planSrc(t *testing.T, src string, vars []string, view *cview.View) (*Plan, hcl.Diagnostics) {
	t.Helper()
	rb, diags := lang.Parse(map[string][]byte{"main.nrun.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatalf("parse: %s", diags.Error())
	}
	inputs, d := lang.InputValues(rb, vars, nil)
	if d.HasErrors() {
		t.Fatalf("inputs: %s", d.Error())
	}
	return Resolve(rb, inputs, view, ResolveOptions{})
}

const destroysByName = `
variable "old" {
  type = list(string)
}

terraform "fleet" {
  dir = "./infra"
}

step "shrink" {
  action "terraform_apply" {
    terraform = terraform.fleet
    destroys  = var.old
  }
}
`

// Names in destroys are resolved at plan and checked as what they are.
func TestResolveNamesAtPlan(t *testing.T) {
	tests := map[string]struct {
		src     string
		old     string
		summary string // an error with this summary, on line 13
		detail  string
		rules   []string
	}{
		"a name that matches nothing": {destroysByName, `["c1","web-9"]`, "Name matches nothing in the cluster",
			`"web-9" in the destroys of step.shrink matches no Nomad server, Nomad client or Consul server in the cluster; check the name or remove it.`, []string{RuleDrainBeforeDestroy}},
		"clients":                       {destroysByName, `["c1","c2"]`, "", "", []string{RuleDrainBeforeDestroy}},
		"a Nomad server":                {destroysByName, `["s3.global"]`, "", "", []string{RuleQuorumPrecondition, RuleSnapshotFirst}},
		"a Consul server by ID or name": {destroysByName, `["consul-3"]`, "", "", []string{RuleQuorumPrecondition, RuleSnapshotFirst}},
		"known only while applying": {strings.Replace(destroysByName, "var.old", "[step.list.output]", 1) + `
step "list" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
`, `[]`, "Targets not known at plan", "known only while applying", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := planSrc(t, tc.src, []string{"old=" + tc.old}, loadInventory(t, "healthy"))
			rules := map[string]bool{}
			found := tc.summary == ""
			for _, d := range diags {
				if r := RuleOf(d); r != "" {
					rules[r] = true
					continue
				}
				if d.Severity != hcl.DiagError {
					continue
				}
				if d.Summary != tc.summary || !strings.Contains(d.Detail, tc.detail) {
					t.Errorf("unexpected error: %s — %s", d, d.Detail)
					continue
				}
				if d.Subject == nil || d.Subject.Start.Line != 13 {
					t.Errorf("%s: Subject %v, want the destroys attribute (line 13)", d.Summary, d.Subject)
				}
				found = true
			}
			if !found {
				t.Errorf("no %q error in %s", tc.summary, diags.Error())
			}
			for _, r := range tc.rules {
				if !rules[r] {
					t.Errorf("want %s, got %v: %s", r, rules, diags.Error())
				}
			}
			if len(rules) != len(tc.rules) {
				t.Errorf("rules %v, want %v", rules, tc.rules)
			}
		})
	}
}

// Offline, names in destroys are decided at plan, and validate says so on
// the attribute.
func TestValidateNamesDecidedAtPlan(t *testing.T) {
	rb, diags := lang.Parse(map[string][]byte{"main.nrun.hcl": []byte(destroysByName)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, vd := Validate(rb, nil)
	n := 0
	for _, d := range vd {
		if d.Severity == hcl.DiagError {
			t.Errorf("unexpected error: %s", d)
		}
		if d.Summary == "Targets decided at plan" {
			n++
			if d.Subject == nil || d.Subject.Start.Line != 13 || !strings.Contains(d.Detail, "nrun plan resolves the names") {
				t.Errorf("warning %v — %s", d.Subject, d.Detail)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d 'Targets decided at plan' warnings, want 1: %s", n, vd.Error())
	}
}

// The summary counts the servers terraform destroys and the nodes drained.
func TestSummaryCountsDestroysAndDrains(t *testing.T) {
	tests := map[string]struct {
		path           string
		vars           []string
		servers, nodes int
	}{
		"terraform destroys a server":   {"testdata/plans/destroy_server.nrun.hcl", nil, 1, 0},
		"drains by name, then destroys": {"testdata/safety/safe/drain_then_destroy_by_name.nrun.hcl", []string{`old_clients=["c1","c2"]`}, 0, 2},
		"restart by name":               {"testdata/safety/safe/string_target_server.nrun.hcl", nil, 1, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := mustPlan(t, tc.path, nil, tc.vars, "healthy")
			if p.Summary.DisruptServers != tc.servers || p.Summary.DrainNodes != tc.nodes {
				t.Errorf("summary %+v, want %d disrupt servers, %d drain nodes", p.Summary, tc.servers, tc.nodes)
			}
		})
	}
}

// withServers returns a copy of the healthy view with n Nomad servers.
func withServers(t *testing.T, n int) *cview.View {
	t.Helper()
	v := loadInventory(t, "healthy")
	b, _ := json.Marshal(v)
	var c cview.View
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	servers := c.Nomad.Raft.Servers
	for i := len(servers); i < n; i++ {
		s := servers[0]
		s.ID = strings.Replace(s.ID, "001", "00"+string(rune('0'+i+1)), 1)
		s.Name = "s" + string(rune('0'+i+1)) + ".global"
		s.Address = "10.0.0.1" + string(rune('0'+i+1)) + ":4647"
		s.Host = "10.0.0.1" + string(rune('0'+i+1))
		servers = append(servers, s)
	}
	c.Nomad.Raft.Servers = servers[:n]
	return &c
}

// apply PLANFILE runs the whole analysis again on a plan made from the
// live view (operation.Apply calls Resolve after CheckStale): a saved plan
// that was safe against five servers is refused once the cluster has
// three, by the staleness check and by the analysis itself.
func TestApplyAnalysisOnFreshView(t *testing.T) {
	src := `
data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 2
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
`
	saved, diags := planSrc(t, src, nil, withServers(t, 5))
	if diags.HasErrors() {
		t.Fatalf("the plan against five servers: %s", diags.Error())
	}
	now := withServers(t, 3)
	if sd := CheckStale(saved, now, saved.Runbook.SourceHash); !sd.HasErrors() {
		t.Errorf("CheckStale accepts a plan whose servers changed")
	}
	_, fresh := planSrc(t, src, nil, now)
	refused := false
	for _, d := range fresh {
		if RuleOf(d) == RuleFailureTolerance {
			refused = true
		}
	}
	if !refused {
		t.Errorf("the fresh analysis against three servers does not refuse max_parallel = 2: %s", fresh.Error())
	}
}
