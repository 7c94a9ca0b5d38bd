package planner_test

import (
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/internal/modelcheck"
	"github.com/nrun-dev/nrun/internal/rbgen"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

var (
	mcDuration = flag.Duration("modelcheck.duration", 0, "run TestModelCheck on random runbooks for this long (0: the fixed short set)")
	mcSeed     = flag.Uint64("modelcheck.seed", 0, "first seed of the long run (0: from the clock)")
	mcOnly     = flag.Uint64("modelcheck.only", 0, "check this one seed and print its findings")
	mcStates   = flag.Int("modelcheck.states", 200_000, "states explored per runbook at most")
)

// shortSeeds is how many seeds from 1 the short run checks, at most
// shortStates states each.
const (
	shortSeeds  = 40
	shortStates = 20_000
)

type mcStats struct {
	checked, accepted, rejected, falsePositive, truncated int
	states                                                int64
	unsound                                               map[string]int
	// fpRules counts, for the rejections with no violating schedule,
	// each rule that rejected: where the analysis is stricter than it
	// needs to be.
	fpRules map[string]int
}

// TestModelCheck plans small random runbooks with the real pipeline and
// explores every schedule of each plan with internal/modelcheck, which
// knows nothing of the safety analysis. Whenever the analysis accepts, no
// schedule may break an invariant. It reports how often the analysis
// rejects a runbook that has no violating schedule (false positives).
func TestModelCheck(t *testing.T) {
	first, deadline := uint64(1), time.Time{}
	if *mcDuration > 0 {
		first = *mcSeed
		if first == 0 {
			first = uint64(time.Now().UnixNano())
		}
		deadline = time.Now().Add(*mcDuration)
	}
	t.Logf("first seed %d (go test ./planner -run TestModelCheck -modelcheck.seed=%d -modelcheck.duration=%s)", first, first, *mcDuration)
	st := mcStats{unsound: map[string]int{}, fpRules: map[string]int{}}
	if *mcOnly != 0 {
		modelCheckOne(t, *mcOnly, &st)
		return
	}
	for seed := first; ; seed++ {
		if deadline.IsZero() && seed >= first+shortSeeds || !deadline.IsZero() && time.Now().After(deadline) {
			break
		}
		modelCheckOne(t, seed, &st)
	}
	fp := 0.0
	if st.rejected > 0 {
		fp = float64(st.falsePositive) / float64(st.rejected)
	}
	t.Logf("runbooks %d, accepted %d, rejected %d, rejected without a violating schedule %d (false-positive rate %.1f%% of rejections), truncated %d, states %d, unsound acceptances %v",
		st.checked, st.accepted, st.rejected, st.falsePositive, 100*fp, st.truncated, st.states, st.unsound)
	t.Logf("rules in the rejections without a violating schedule: %v", st.fpRules)
}

func modelCheckOne(t *testing.T, seed uint64, st *mcStats) {
	t.Helper()
	g := rbgen.GenerateSmall(seed)
	rb, diags := lang.Parse(map[string][]byte{"gen.nrun.hcl": g.Source})
	if diags.HasErrors() {
		t.Fatalf("seed %d: generated runbook does not parse: %s\n%s", seed, diags.Error(), g.Source)
	}
	inputs, diags := lang.InputValues(rb, nil, nil)
	if diags.HasErrors() {
		t.Fatalf("seed %d: inputs: %s", seed, diags.Error())
	}
	p, diags := planner.Resolve(rb, inputs, g.View, planner.ResolveOptions{})
	rejected := false
	rules := map[string]bool{}
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if planner.RuleOf(d) == "" {
			t.Fatalf("seed %d: not a safety finding: %s: %s\n%s", seed, d.Summary, d.Detail, g.Source)
		}
		rejected = true
		rules[planner.RuleOf(d)] = true
	}
	limit := *mcStates
	if *mcDuration == 0 && *mcOnly == 0 {
		limit = min(limit, shortStates)
	}
	res := modelcheck.Check(p, g.View, modelcheck.Options{MaxStates: limit})
	st.checked++
	st.states += int64(res.States)
	if res.Truncated {
		st.truncated++
	}
	if rejected {
		st.rejected++
		if len(res.Violations) == 0 && !res.Truncated {
			st.falsePositive++
			for r := range rules {
				st.fpRules[r]++
			}
		}
		return
	}
	st.accepted++
	waived := map[string]bool{}
	for _, w := range p.Waivers {
		waived[w.Rule] = true
	}
	for _, v := range res.Violations {
		if w := waivedBy(v.Invariant, waived); w != "" {
			st.unsound["waived:"+v.Invariant]++
			t.Logf("seed %d: %s broken, as the waiver of %s allows", seed, v.Invariant, w)
			continue
		}
		st.unsound[v.Invariant]++
		t.Errorf("seed %d: the analysis accepts, but a schedule breaks %s: %s (after a failure: %v)\nschedule:\n  %s\nrunbook:\n%s",
			seed, v.Invariant, v.Detail, v.AfterFailure, strings.Join(v.Schedule, "\n  "), g.Source)
	}
}

// TestModelCheckFixtures checks the checker: it finds the violation in
// unsafe fixtures whose rule is a schedule property, and none in safe ones.
func TestModelCheckFixtures(t *testing.T) {
	tests := map[string]struct {
		path string
		want string // the invariant broken, "" for none
	}{
		"rolling restart":     {"testdata/safety/safe/rolling_restart.nrun.hcl", ""},
		"composite upgrade":   {"testdata/safety/safe/composite_upgrade.nrun.hcl", ""},
		"max_parallel 2 of 3": {"testdata/safety/unsafe/s002_max_parallel_2_of_3.nrun.hcl", modelcheck.FailureTolerance},
		"two unordered steps": {"testdata/safety/unsafe/s002_two_unordered_steps.nrun.hcl", modelcheck.FailureTolerance},
		"no leader last":      {"testdata/safety/unsafe/s003_no_leader_last.nrun.hcl", modelcheck.LeaderFirst},
	}
	b, err := os.ReadFile("../testdata/inventory/healthy.json")
	if err != nil {
		t.Fatal(err)
	}
	var view cview.View
	if err := json.Unmarshal(b, &view); err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb, diags := lang.Load(tc.path)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			inputs, _ := lang.InputValues(rb, nil, nil)
			p, _ := planner.Resolve(rb, inputs, &view, planner.ResolveOptions{})
			res := modelcheck.Check(p, &view, modelcheck.Options{})
			var got []string
			for _, v := range res.Violations {
				got = append(got, v.Invariant)
			}
			if tc.want == "" && len(got) > 0 || tc.want != "" && !slices.Contains(got, tc.want) {
				t.Errorf("violations %v, want %q (%d states)", got, tc.want, res.States)
			}
		})
	}
}

// invariantRules are the rules whose waiver accepts a schedule that breaks
// the invariant.
var invariantRules = map[string][]string{
	modelcheck.FailureTolerance: {"NR-S001", "NR-S002", "NR-S005", "NR-S007", "NR-S010"},
	modelcheck.LeaderFirst:      {"NR-S003"},
	modelcheck.DestroyUndrained: {"NR-S006", "NR-S008"},
}

func waivedBy(invariant string, waived map[string]bool) string {
	for _, r := range invariantRules[invariant] {
		if waived[r] {
			return r
		}
	}
	return ""
}
