package lang

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// nameSwitchAllowed are the places outside the catalog that still decide
// on an action's or check's name, as "file: name". It only shrinks: each
// is a fact still to move into the catalog (executor dispatch, probes,
// waits and command kinds). TestNoNameSwitches fails on
// a new one, and on one that is gone but still listed.
var nameSwitchAllowed = map[string]bool{
	"executor/actions.go: approval": true, "executor/actions.go: exec": true, "executor/actions.go: nomad_node_drain": true,
	"executor/actions.go: nomad_node_eligibility": true, "executor/actions.go: nomad_raft_remove_peer": true,
	"executor/actions.go: nomad_raft_transfer_leadership": true, "executor/actions.go: nomad_server_force_leave": true,
	"executor/actions.go: nomad_snapshot_save": true, "executor/actions.go: sleep": true, "executor/actions.go: terraform_apply": true,
	"executor/actions_cluster.go: consul_force_leave": true, "executor/actions_cluster.go: consul_maintenance": true,
	"executor/actions_cluster.go: consul_raft_remove_peer": true, "executor/actions_cluster.go: consul_snapshot_save": true,
	"executor/actions_cluster.go: nomad_deployment_promote": true, "executor/actions_cluster.go: nomad_job_revert": true,
	"executor/actions_cluster.go: nomad_job_run": true,
	"executor/instance.go: approval":             true, "executor/instance.go: consul_maintenance": true, "executor/instance.go: deployment_canaries_healthy": true,
	"executor/instance.go: deployment_successful": true, "executor/instance.go: exec": true, "executor/instance.go: node_drained": true,
	"executor/instance.go: node_ineligible": true, "executor/instance.go: node_ready": true,
	"executor/preconditions.go: leader_not_target": true,
	"executor/probe.go: approval":                  true, "executor/probe.go: exec": true, "executor/probe.go: nomad_node_drain": true,
	"executor/probe.go: nomad_node_eligibility": true, "executor/probe.go: nomad_raft_remove_peer": true,
	"executor/probe.go: nomad_raft_transfer_leadership": true, "executor/probe.go: nomad_server_force_leave": true,
	"executor/probe.go: nomad_snapshot_save": true, "executor/probe.go: sleep": true, "executor/probe.go: terraform_apply": true,
	"executor/waits_deployment.go: deployment_canaries_healthy": true, "executor/waits_deployment.go: deployment_successful": true,
	"executor/waits_deployment.go: nomad_job_run": true,
	// command.go: "exec" there names the kind of command (exec or check), not the action.
	"executor/command.go: exec": true,
}

// TestNoNameSwitches scans the non-test Go sources of lang, planner,
// executor, views and checks for decisions on an action's or check's
// name (case "NAME", == "NAME", != "NAME") outside the catalog files.
func TestNoNameSwitches(t *testing.T) {
	names := append(ActionTypes(), CheckNames()...)
	re := regexp.MustCompile(`(case|[=!]=)\s*"(` + strings.Join(names, "|") + `)"(\s*[,:]\s*"(` + strings.Join(names, "|") + `)")*`)
	inner := regexp.MustCompile(`"(` + strings.Join(names, "|") + `)"`)
	found := map[string]bool{}
	for _, dir := range []string{"lang", "planner", "executor", "views", "checks"} {
		files, _ := filepath.Glob(filepath.Join("..", dir, "*.go"))
		for _, f := range files {
			base := filepath.Base(f)
			if strings.HasSuffix(base, "_test.go") || strings.HasPrefix(base, "catalog_") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllString(string(src), -1) {
				for _, n := range inner.FindAllStringSubmatch(m, -1) {
					found[dir+"/"+base+": "+n[1]] = true
				}
			}
		}
	}
	var extra, gone []string
	for k := range found {
		if !nameSwitchAllowed[k] {
			extra = append(extra, k)
		}
	}
	for k := range nameSwitchAllowed {
		if !found[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(extra)
	sort.Strings(gone)
	for _, k := range extra {
		t.Errorf("%s: decides on a catalog name; read a catalog fact instead", k)
	}
	for _, k := range gone {
		t.Errorf("%s: no longer decides on the name; remove it from nameSwitchAllowed", k)
	}
}
