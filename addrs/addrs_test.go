package addrs

import "testing"

func TestInstanceRoundTrip(t *testing.T) {
	tests := map[string]struct {
		inst Instance
		want string
	}{
		"plain":        {Instance{Step: TopStep("snapshot")}, `step.snapshot`},
		"keyed":        {Instance{Step: TopStep("upgrade"), Key: StringKey("s1")}, `step.upgrade["s1"]`},
		"nested":       {Instance{Step: Step{Outer: "retire", Name: "stop"}, Key: StringKey("s1")}, `step.retire["s1"].step.stop`},
		"nested-nokey": {Instance{Step: Step{Outer: "retire", Name: "stop"}}, `step.retire.step.stop`},
		"escaped":      {Instance{Step: TopStep("d"), Key: StringKey(`a"]b\c`)}, `step.d["a\"]b\\c"]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.inst.String(); got != tc.want {
				t.Fatalf("String() = %s, want %s", got, tc.want)
			}
			back, err := ParseInstance(tc.want)
			if err != nil {
				t.Fatalf("ParseInstance: %v", err)
			}
			if back != tc.inst {
				t.Fatalf("ParseInstance(%s) = %#v, want %#v", tc.want, back, tc.inst)
			}
		})
	}
}

func TestParseInstanceErrors(t *testing.T) {
	for _, s := range []string{"", "snapshot", "step.", `step.a["x`, `step.a[x]`, `step.a.b`, `step.a["x"]junk`, `step.a.step.`} {
		if _, err := ParseInstance(s); err == nil {
			t.Errorf("ParseInstance(%q) succeeded, want error", s)
		}
	}
}
