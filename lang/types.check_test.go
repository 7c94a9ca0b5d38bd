package lang

import (
	"testing"
	"time"

	"github.com/nrun-dev/nrun/addrs"
)

func TestDecodeChecks(t *testing.T) {
	rb := mustParse(t, `
data "nomad_servers" "all" {}
step "s" {
  for_each = data.nomad_servers.all.by_name
  precondition "leader_not_target" {
    transfer = true
    timeout  = "1m"
  }
  precondition {
    condition     = each.value.voter
    error_message = "not a voter"
  }
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout  = "5m"
    interval = "2s"
  }
  wait "servers_healthy" {
    count   = 3
    timeout = "10m"
  }
}
`)
	s := rb.Step(addrs.TopStep("s"))
	if len(s.Preconditions) != 2 || len(s.Waits) != 2 {
		t.Fatalf("preconditions %d waits %d", len(s.Preconditions), len(s.Waits))
	}
	tests := map[string]struct {
		check    *Check
		kind     CheckKind
		name     string
		args     []string
		timeout  time.Duration
		interval time.Duration
		custom   bool
	}{
		"named precondition":  {s.Preconditions[0], KindPrecondition, "leader_not_target", []string{"transfer"}, time.Minute, 0, false},
		"custom precondition": {s.Preconditions[1], KindPrecondition, "", nil, 0, 0, true},
		"wait with interval":  {s.Waits[0], KindWait, "server_healthy", nil, 5 * time.Minute, 2 * time.Second, false},
		"wait with argument":  {s.Waits[1], KindWait, "servers_healthy", []string{"count"}, 10 * time.Minute, 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := tc.check
			if c.Kind != tc.kind || c.Name != tc.name || c.Timeout != tc.timeout || c.Interval != tc.interval {
				t.Errorf("got kind %v name %q timeout %v interval %v", c.Kind, c.Name, c.Timeout, c.Interval)
			}
			if len(c.Args) != len(tc.args) {
				t.Errorf("args %v, want %v (timeout and interval are not args)", c.Args, tc.args)
			}
			for _, a := range tc.args {
				if c.Args[a] == nil {
					t.Errorf("missing arg %s", a)
				}
			}
			if (c.Condition != nil && c.ErrorMessage != nil) != tc.custom {
				t.Errorf("custom condition = %v", c.Condition != nil)
			}
		})
	}
	if diags := Validate(rb, nil); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
}
