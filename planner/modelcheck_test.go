package planner_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/internal/modelcheck"
	"github.com/nrun-dev/nrun/internal/rbgen"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

var (
	mcDuration = flag.Duration("modelcheck.duration", 0, "run TestModelCheck on random runbooks for this long (0: the fixed short set)")
	mcSeed     = flag.Uint64("modelcheck.seed", 0, "first seed of the long run (0: from the clock)")
	mcStates   = flag.Int("modelcheck.states", 200_000, "states explored per runbook at most")
)

// shortSeeds is how many seeds from 1 the short run checks; they all pass.
const shortSeeds = 150

type mcStats struct {
	checked, accepted, rejected, falsePositive, truncated int
	states                                                int64
	unsound                                               map[string]int
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
	st := mcStats{unsound: map[string]int{}}
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
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if planner.RuleOf(d) == "" {
			t.Fatalf("seed %d: not a safety finding: %s: %s\n%s", seed, d.Summary, d.Detail, g.Source)
		}
		rejected = true
	}
	res := modelcheck.Check(p, g.View, modelcheck.Options{MaxStates: *mcStates})
	st.checked++
	st.states += int64(res.States)
	if res.Truncated {
		st.truncated++
	}
	if rejected {
		st.rejected++
		if len(res.Violations) == 0 && !res.Truncated {
			st.falsePositive++
		}
		return
	}
	st.accepted++
	for _, v := range res.Violations {
		st.unsound[v.Invariant]++
		t.Errorf("seed %d: the analysis accepts, but a schedule breaks %s: %s (after a failure: %v)\nschedule:\n  %s\nrunbook:\n%s",
			seed, v.Invariant, v.Detail, v.AfterFailure, strings.Join(v.Schedule, "\n  "), g.Source)
	}
}

var _ = fmt.Sprint
