package lang

import (
	"testing"

	"github.com/nrun-dev/nrun/addrs"
)

func TestParseBriefExample(t *testing.T) {
	rb, diags := Load("testdata/valid/brief_example.nrun.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var got []string
	for _, s := range rb.AllSteps() {
		got = append(got, s.Addr.String())
	}
	want := []string{"step.snapshot", "step.upgrade", "step.retire", "step.retire.step.stop", "step.retire.step.swap", "step.retire.step.start"}
	if len(got) != len(want) {
		t.Fatalf("steps = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("steps = %v, want %v", got, want)
		}
	}
	up := rb.Step(addrs.TopStep("upgrade"))
	if len(up.DependsOn) != 1 || up.DependsOn[0].Addr != addrs.TopStep("snapshot") {
		t.Errorf("upgrade depends_on = %v", up.DependsOn)
	}
	if up.Order != OrderLeaderLast || up.MaxParallel != 1 || up.Retry.Attempts != 2 || up.Action.Effect != EffectRestart {
		t.Errorf("upgrade decoded wrong: %+v", up)
	}
	start := rb.Step(addrs.Step{Outer: "retire", Name: "start"})
	if len(start.DependsOn) != 1 || start.DependsOn[0].Addr != (addrs.Step{Outer: "retire", Name: "swap"}) {
		t.Errorf("start depends_on = %v", start.DependsOn)
	}
	if !rb.Step(addrs.TopStep("retire")).Composite() {
		t.Error("retire is not composite")
	}
}
