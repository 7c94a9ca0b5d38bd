package planner

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/nrun-dev/nrun/lang"
)

// SavedInputs returns the variable values a plan recorded in clear: every
// variable but the sensitive ones, which apply must be given again.
func (p *Plan) SavedInputs() (map[string]cty.Value, error) {
	out := map[string]cty.Value{}
	for _, v := range p.Variables {
		if v.Sensitive || v.JSON == nil || v.Type == nil {
			continue
		}
		t, err := ctyjson.UnmarshalType(v.Type)
		if err != nil {
			return nil, fmt.Errorf("variable %s: type: %v", v.Name, err)
		}
		val, err := ctyjson.Unmarshal(v.JSON, t)
		if err != nil {
			return nil, fmt.Errorf("variable %s: value: %v", v.Name, err)
		}
		out[v.Name] = val
	}
	return out, nil
}

// CheckInputs compares the variable values apply has (inputs as from
// lang.InputValues, typically SavedInputs plus the sensitive ones given
// again; defaults fill the rest) with the hashes the plan recorded. It
// returns one sourceless error per variable that is missing or differs,
// without printing either value.
func (p *Plan) CheckInputs(rb *lang.Runbook, inputs map[string]cty.Value) hcl.Diagnostics {
	sc, _ := lang.NewScope(rb, inputs)
	var diags hcl.Diagnostics
	salt, err := hex.DecodeString(p.InputSalt)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid saved plan", Detail: "The plan's input_salt is not hexadecimal, so its variable values cannot be checked. Make a new plan with nrun plan -out."}}
	}
	for _, v := range p.Variables {
		val, ok := sc.Vars[v.Name]
		if !ok || !val.IsWhollyKnown() {
			detail := fmt.Sprintf("The plan was made with a value for variable %q, and applying it needs that value again.", v.Name)
			if v.Sensitive {
				detail += fmt.Sprintf(" It is sensitive, so the plan file does not hold it: pass it with -var '%s=...' or a -var-file.", v.Name)
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No value for variable " + v.Name, Detail: detail})
			continue
		}
		if v.Hash == "" || len(salt) == 0 {
			// A plan printed with -json rather than saved with -out
			// records no hashes: the non-sensitive values it holds are
			// compared as they are; a sensitive one cannot be checked.
			if v.Sensitive || v.JSON == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Plan cannot check variable " + v.Name,
					Detail:   fmt.Sprintf("The plan records neither the value of variable %q nor a hash of it, so apply cannot tell whether the value it has now is the one the plan was made with. Save plans for apply with nrun plan -out FILE.", v.Name),
				})
				continue
			}
			if js, err := ctyjson.Marshal(val, val.Type()); err != nil || !jsonEqual(js, v.JSON) {
				diags = append(diags, differs(v.Name))
			}
			continue
		}
		if h := valueHash(salt, val); !hmac.Equal([]byte(h), []byte(v.Hash)) {
			diags = append(diags, differs(v.Name))
		}
	}
	return diags
}

func differs(name string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Variable " + name + " differs from the plan",
		Detail:   fmt.Sprintf("The value of variable %q is not the one the plan was made with. Pass the same value, or run nrun plan again with the new one and apply that plan.", name),
	}
}

// jsonEqual compares two JSON documents by value, not by bytes.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// valueHash is Variable.Hash: "hmac-sha256:" + hex HMAC-SHA256 of the cty
// JSON keyed with the plan's salt. Unsalted, a sensitive value with few
// possibilities (a PIN, a dictionary password) could be found by hashing
// guesses; the per-plan key makes every guess specific to one plan file
// and keeps equal values in two plans from matching.
func valueHash(salt []byte, v cty.Value) string {
	js, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, salt)
	m.Write(js)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// NewSalt draws the key of one saved plan's variable hashes
// (ResolveOptions.Salt).
func NewSalt() []byte {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return b
}
