package planner

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

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
		if h := valueHash(salt, val); !hmac.Equal([]byte(h), []byte(v.Hash)) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Variable " + v.Name + " differs from the plan",
				Detail:   fmt.Sprintf("The value of variable %q is not the one the plan was made with. Pass the same value, or run nrun plan again with the new one and apply that plan.", v.Name),
			})
		}
	}
	return diags
}

// valueHash is Variable.Hash: "hmac-sha256:" + hex HMAC-SHA256 of the cty
// JSON keyed with the plan's salt. Unsalted, a sensitive value with few
// possibilities (a PIN, a dictionary password) could be found by hashing
// guesses; the per-plan key makes every guess specific to one plan file
// and keeps equal values in two plans from matching. A plan without a
// salt (older format) hashed plain SHA-256.
func valueHash(salt []byte, v cty.Value) string {
	js, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return ""
	}
	if len(salt) == 0 {
		sum := sha256.Sum256(js)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	m := hmac.New(sha256.New, salt)
	m.Write(js)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// newSalt draws the key of one plan's variable hashes.
func newSalt() []byte {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return b
}
