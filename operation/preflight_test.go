package operation

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/acl"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// TestCheckToken: a token without node write fails the drain steps with
// the step, the call and the capability; the printed policy passes; a
// management token passes.
func TestCheckToken(t *testing.T) {
	rb, diags := lang.Load(filepath.Join("..", "runbooks", "drain-node-pool.nrun.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	needs := acl.Needs(rb)
	policy := acl.PolicyOf(rb).APIs[0].HCL
	tok := func(rules string, mgmt bool) *cluster.Token {
		return &cluster.Token{System: "nomad", AccessorID: "acc-1", Policies: []string{"p"}, Management: mgmt, Rules: map[string]string{"p": rules}}
	}
	if d := checkToken(lang.APINomad, tok(policy, false), needs, "default"); d.HasErrors() {
		t.Errorf("the printed policy fails: %v", d)
	}
	if d := checkToken(lang.APINomad, tok("", true), needs, "default"); d.HasErrors() {
		t.Errorf("management fails: %v", d)
	}
	readOnly := strings.Replace(policy, `policy = "write"`, `policy = "read"`, 1)
	d := checkToken(lang.APINomad, tok(readOnly, false), needs, "default")
	if len(d) != 2 {
		t.Fatalf("want the two node-writing steps, got %v", d)
	}
	want := `step.drain action "nomad_node_drain": needs node write; the token's policies grant node read.`
	if !strings.Contains(d[1].Detail, want) || d[1].Subject == nil {
		t.Errorf("detail %q (subject %v), want %q with a range", d[1].Detail, d[1].Subject, want)
	}
	if strings.Contains(d[1].Detail+d[1].Summary, "secret") {
		t.Error("a secret in the diagnostic")
	}
}

func TestTokenExpiry(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &planner.Plan{Instances: []*planner.Instance{{Timeout: planner.Duration(45 * time.Minute)}, {Timeout: planner.Duration(time.Minute)}}}
	at := func(d time.Duration) []checkedToken {
		e := now.Add(d)
		return []checkedToken{{API: lang.APINomad, Token: &cluster.Token{AccessorID: "a", ExpirationTime: &e}}}
	}
	for name, tc := range map[string]struct {
		in   time.Duration
		want string
	}{
		"expired":         {-time.Second, "has expired"},
		"before timeouts": {30 * time.Minute, "expires before the run's timeouts are up"},
		"after timeouts":  {47 * time.Minute, ""},
	} {
		t.Run(name, func(t *testing.T) {
			d := tokenExpiry(at(tc.in), p, now)
			if tc.want == "" && len(d) > 0 || tc.want != "" && (len(d) != 1 || !strings.Contains(d[0].Summary, tc.want)) {
				t.Errorf("got %v, want %q", d, tc.want)
			}
		})
	}
}
