package executor

import (
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
)

// Redactor replaces secrets in text written to the journal, the audit log
// and events. Secrets are the Nomad and Consul tokens and the string values
// of sensitive variables (nested strings included).
type Redactor struct {
	secrets []string
	r       *strings.Replacer
}

// Redacted is what a secret is replaced with.
const Redacted = "<redacted>"

// NewRedactor builds a redactor for the given secrets; empty strings and
// strings shorter than 4 bytes are ignored (they would mangle ordinary
// text and cannot be meaningful tokens).
func NewRedactor(secrets ...string) *Redactor {
	var keep []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < 4 || seen[s] {
			continue
		}
		seen[s] = true
		keep = append(keep, s)
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(keep, func(i, j int) bool { return len(keep[i]) > len(keep[j]) })
	var pairs []string
	for _, s := range keep {
		pairs = append(pairs, s, Redacted)
	}
	return &Redactor{secrets: keep, r: strings.NewReplacer(pairs...)}
}

// String redacts s.
func (r *Redactor) String(s string) string {
	if r == nil || len(r.secrets) == 0 {
		return s
	}
	return r.r.Replace(s)
}

// SensitiveValues returns every string inside the values of the runbook's
// sensitive variables.
func SensitiveValues(rb *lang.Runbook, inputs map[string]cty.Value) []string {
	var out []string
	if rb == nil {
		return nil
	}
	for _, v := range rb.Variables {
		if !v.Sensitive {
			continue
		}
		val, ok := inputs[v.Name]
		if !ok || val == cty.NilVal {
			val = v.Default
		}
		lang.SecretStrings(val, &out)
	}
	return out
}
