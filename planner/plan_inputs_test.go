package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/lang"
)

// A saved plan gives back its clear inputs; apply must pass the sensitive
// ones again, with the same values.
func TestPlanInputs(t *testing.T) {
	const path = "testdata/plans/features.nrun.hcl"
	p := mustPlanSaved(t, path, nil, []string{"token=s3cr3t", "min_version=1.9.4"}, "healthy")
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var saved Plan
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	in, err := saved.SavedInputs()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in["token"]; ok || in["min_version"].AsString() != "1.9.4" {
		t.Fatalf("saved inputs = %#v", in)
	}
	rb, _ := lang.Load(path)
	tests := map[string]struct {
		token string // "" leaves it out
		want  string // substring of the one error, "" for none
	}{
		"same secret":    {token: "s3cr3t"},
		"secret missing": {want: "No value for variable token"},
		"other secret":   {token: "guess", want: "Variable token differs from the plan"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			all, _ := saved.SavedInputs()
			if tc.token != "" {
				given, d := lang.InputValues(rb, []string{"token=" + tc.token}, nil)
				if d.HasErrors() {
					t.Fatal(d.Error())
				}
				all["token"] = given["token"]
			}
			diags := saved.CheckInputs(rb, all)
			switch {
			case tc.want == "" && len(diags) != 0:
				t.Errorf("unexpected: %s", diags.Error())
			case tc.want != "" && (len(diags) != 1 || !strings.Contains(diags[0].Summary, tc.want)):
				t.Errorf("got %s, want %q", diags.Error(), tc.want)
			}
			if strings.Contains(diags.Error(), "s3cr3t") || strings.Contains(diags.Error(), "guess") {
				t.Error("a diagnostic prints the secret")
			}
		})
	}
}

// A variable's hash must not be the plain SHA-256 of its value, which a
// reader of the plan file could find by hashing guesses, and two plans of
// the same value must not share a hash.
func TestPlanInputsSalted(t *testing.T) {
	const path = "testdata/plans/features.nrun.hcl"
	args := []string{"token=s3cr3t"}
	p1 := mustPlanSaved(t, path, nil, args, "healthy")
	p2 := mustPlanSaved(t, path, nil, args, "healthy")
	plain := sha256.Sum256([]byte(`"s3cr3t"`))
	h1, h2 := p1.Variables[0].Hash, p2.Variables[0].Hash
	if p1.Variables[0].Name != "token" {
		t.Fatalf("first variable is %s", p1.Variables[0].Name)
	}
	if strings.Contains(h1, hex.EncodeToString(plain[:])) {
		t.Errorf("hash %s is the plain sha256 of the value", h1)
	}
	if h1 == h2 || p1.InputSalt == p2.InputSalt || p1.InputSalt == "" {
		t.Errorf("two plans of the same value: hashes %s and %s, salts %q and %q", h1, h2, p1.InputSalt, p2.InputSalt)
	}
	// Each plan still checks its own hash.
	rb, _ := lang.Load(path)
	for _, p := range []*Plan{p1, p2} {
		in, d := lang.InputValues(rb, args, nil)
		if d.HasErrors() {
			t.Fatal(d.Error())
		}
		if d := p.CheckInputs(rb, in); len(d) != 0 {
			t.Errorf("the same value is refused: %s", d.Error())
		}
	}
	// A plan printed rather than saved has no hash: apply must refuse to
	// vouch for its sensitive input instead of accepting any value.
	printed := mustPlan(t, path, nil, args, "healthy")
	in, _ := lang.InputValues(rb, args, nil)
	if d := printed.CheckInputs(rb, in); len(d) != 1 || !strings.Contains(d[0].Summary, "Plan cannot check variable token") {
		t.Errorf("unsalted plan: CheckInputs = %v, want one \"Plan cannot check variable token\"", d)
	}
}
