package views

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/nrun-dev/nrun/acl"
	"github.com/nrun-dev/nrun/lang"
)

// PolicyJSONVersion is the format_version of PolicyJSON's document.
const PolicyJSONVersion = "1"

// apiNoun is how an API is named to people.
func apiNoun(a lang.API) string {
	switch a {
	case lang.APINomad:
		return "Nomad"
	case lang.APIConsul:
		return "Consul"
	}
	return string(a)
}

// PolicyText writes the policy of runbook name as each product's policy
// HCL, every line outside the rules a comment, so the output of one API
// (nrun policy -api nomad) can be saved and applied as it is. After the
// rules it says which parts need a management token. only is the API
// the policy was narrowed to, "" for all.
func PolicyText(w io.Writer, name string, p *acl.Policy, only lang.API) error {
	var b strings.Builder
	switch {
	case len(p.APIs) > 0:
	case only != "":
		fmt.Fprintf(&b, "# Runbook %q does not call %s: it needs no %s ACL policy.\n", name, apiNoun(only), apiNoun(only))
	default:
		fmt.Fprintf(&b, "# Runbook %q calls neither Nomad nor Consul: it needs no ACL policy.\n", name)
	}
	for i, ap := range p.APIs {
		if i > 0 {
			b.WriteString("\n")
		}
		noun := apiNoun(ap.API)
		fmt.Fprintf(&b, "# %s ACL policy for runbook %q: the smallest that covers every step,\n", noun, name)
		b.WriteString("# data source, check and wait, and nrun's own read of the cluster.\n")
		b.WriteString("# Each rule's comment names, per level or capability, what needs it.\n\n")
		if len(ap.Rules) > 0 {
			b.WriteString(ap.HCL)
		} else {
			b.WriteString("# (no rules: what the runbook calls needs a management token)\n")
		}
		b.WriteString("\n")
		if len(ap.Management) == 0 {
			fmt.Fprintf(&b, "# No step needs a %s management token.\n", noun)
			continue
		}
		fmt.Fprintf(&b, "# These need a %s management token; no policy grants what they call:\n", noun)
		for _, u := range ap.Management {
			fmt.Fprintf(&b, "#   %s: %s\n", u.Who, u.What)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// policyDoc is PolicyJSON's document.
type policyDoc struct {
	FormatVersion string          `json:"format_version"`
	Runbook       string          `json:"runbook"`
	APIs          []acl.APIPolicy `json:"apis"`
}

// PolicyJSON writes the policy as one JSON object: format_version,
// runbook, and apis, one per API the runbook calls, each with api, rules
// (resource, policy or capabilities, and uses: who, what, rule),
// management (the uses that need a management token) and hcl (the rules
// as the product's policy HCL, with their comments).
func PolicyJSON(w io.Writer, name string, p *acl.Policy) error {
	doc := policyDoc{FormatVersion: PolicyJSONVersion, Runbook: name, APIs: p.APIs}
	if doc.APIs == nil {
		doc.APIs = []acl.APIPolicy{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
