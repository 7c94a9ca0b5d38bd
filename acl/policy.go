package acl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
)

// Policy is the smallest ACL policy, per API, that covers a runbook.
type Policy struct {
	// APIs has one entry per API the runbook uses, Nomad first.
	APIs []APIPolicy `json:"apis"`
}

// APIPolicy is one API's part of a Policy.
type APIPolicy struct {
	API lang.API `json:"api"`
	// Rules are the policy's rules, in the order the HCL has them.
	Rules []Rule `json:"rules"`
	// Management lists the parts that need a management token: no
	// policy grants what they call.
	Management []Use `json:"management,omitempty"`
	// HCL is Rules in the product's own policy language, each rule under
	// a comment naming the parts that need it.
	HCL string `json:"hcl"`
}

// Rule is one rule of a policy: a resource with a policy level (read,
// write) or, for a Nomad namespace, a list of capabilities.
type Rule struct {
	// Resource is the rule's block as the HCL writes it: node, operator,
	// agent, namespace "default" (Nomad); operator, node_prefix "",
	// agent_prefix "", service_prefix "" (Consul).
	Resource     string   `json:"resource"`
	Policy       string   `json:"policy,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
	// Variables are the Nomad variable paths a namespace rule grants
	// (the backend's), with their capabilities.
	Variables []VariablePath `json:"variables,omitempty"`
	// Uses are the needs the rule covers.
	Uses []Use `json:"uses"`
}

// Use is one part of the runbook that needs a rule.
type Use struct {
	Who  string `json:"who"`
	What string `json:"what"`
	// Rule is the capability needed, e.g. "node:write".
	Rule string `json:"rule"`
}

// Namespace is the Nomad namespace the runbook's jobs are in, for its
// namespace rules: the nomad block's literal namespace, "default" without
// one, "*" when it is an expression (known only at plan).
func Namespace(rb *lang.Runbook) string {
	if rb == nil || rb.Nomad == nil || rb.Nomad.Namespace == nil {
		return "default"
	}
	if v, ok := literal(rb.Nomad.Namespace); ok && v.Type() == cty.String && v.AsString() != "" {
		return v.AsString()
	}
	return "*"
}

// Build merges needs into the smallest policy per API: the highest level
// each resource needs, the union of namespace capabilities, and the parts
// that need a management token apart. ns is the runbook's namespace.
func Build(needs []Need, ns string) *Policy {
	p := &Policy{}
	for _, api := range []lang.API{lang.APINomad, lang.APIConsul} {
		ap := APIPolicy{API: api}
		rules := map[string]*Rule{}
		var order []string
		rule := func(res string) *Rule {
			r := rules[res]
			if r == nil {
				r = &Rule{Resource: res}
				rules[res] = r
				order = append(order, res)
			}
			return r
		}
		used := false
		for _, n := range needs {
			if n.Cap.API != api {
				continue
			}
			used = true
			u := Use{Who: n.Who, What: n.What, Rule: n.Cap.Rule}
			if n.Cap.Rule == "management" {
				ap.Management = append(ap.Management, u)
				continue
			}
			if vp, ok := variablesRule(n.Cap.Rule); ok {
				r := rule(fmt.Sprintf("namespace %q", ns))
				r.Uses = append(r.Uses, u)
				r.Variables = append(r.Variables, vp)
				continue
			}
			res, level, caps := parseRule(api, n.Cap.Rule, ns)
			r := rule(res)
			r.Uses = append(r.Uses, u)
			if level != "" && levelRank(level) > levelRank(r.Policy) {
				r.Policy = level
			}
			r.Capabilities = union(r.Capabilities, caps)
		}
		if !used {
			continue
		}
		// Nomad picks an exact namespace rule over a glob, so the
		// runbook's namespace also needs what "*" grants.
		if all := rules[`namespace "*"`]; all != nil {
			for res, r := range rules {
				if strings.HasPrefix(res, "namespace ") && r != all {
					r.Capabilities = union(r.Capabilities, all.Capabilities)
				}
			}
		}
		sort.SliceStable(order, func(i, j int) bool { return resourceRank(order[i]) < resourceRank(order[j]) })
		for _, res := range order {
			ap.Rules = append(ap.Rules, *rules[res])
		}
		ap.HCL = policyHCL(api, ap)
		p.APIs = append(p.APIs, ap)
	}
	return p
}

// PolicyOf is Build(Needs(rb), Namespace(rb)).
func PolicyOf(rb *lang.Runbook) *Policy { return Build(Needs(rb), Namespace(rb)) }

// parseRule splits a catalog rule into the policy resource it is granted
// by and the level or namespace capabilities it needs.
func parseRule(api lang.API, rule, ns string) (res, level string, caps []string) {
	parts := strings.Split(rule, ":")
	if len(parts) == 3 && strings.HasSuffix(parts[0], "_prefix") {
		// resource_prefix:PREFIX:level (the backend's key prefix).
		return fmt.Sprintf("%s %q", parts[0], parts[1]), parts[2], nil
	}
	if parts[0] == "namespace" {
		switch len(parts) {
		case 3:
			return fmt.Sprintf("namespace %q", parts[1]), "", []string{parts[2]}
		case 2:
			return fmt.Sprintf("namespace %q", ns), "", []string{parts[1]}
		}
	}
	if len(parts) != 2 {
		return rule, "", nil
	}
	res = parts[0]
	if api == lang.APIConsul && res != "operator" && res != "acl" && res != "keyring" && res != "mesh" && res != "peering" {
		res += `_prefix ""`
	}
	return res, parts[1], nil
}

func levelRank(l string) int {
	switch l {
	case "read":
		return 1
	case "write":
		return 2
	}
	return 0
}

// resourceRank orders rules: plain resources first, namespaces last.
func resourceRank(res string) int {
	if strings.HasPrefix(res, "namespace ") {
		return 1
	}
	return 0
}

func union(a, b []string) []string {
	for _, x := range b {
		found := false
		for _, y := range a {
			found = found || x == y
		}
		if !found {
			a = append(a, x)
		}
	}
	sort.Strings(a)
	return a
}

// policyHCL writes the rules in Nomad's or Consul's policy language.
func policyHCL(api lang.API, ap APIPolicy) string {
	var b strings.Builder
	for i, r := range ap.Rules {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, c := range comments(r) {
			fmt.Fprintf(&b, "# %s\n", c)
		}
		switch {
		case len(r.Variables) > 0:
			fmt.Fprintf(&b, "%s {\n", r.Resource)
			if len(r.Capabilities) > 0 {
				fmt.Fprintf(&b, "  capabilities = [%s]\n", quoted(r.Capabilities))
			}
			b.WriteString("  variables {\n")
			for _, v := range r.Variables {
				fmt.Fprintf(&b, "    path %q {\n      capabilities = [%s]\n    }\n", v.Path, quoted(v.Capabilities))
			}
			b.WriteString("  }\n}\n")
		case len(r.Capabilities) > 0:
			fmt.Fprintf(&b, "%s {\n  capabilities = [%s]\n}\n", r.Resource, quoted(r.Capabilities))
		case api == lang.APIConsul && !strings.Contains(r.Resource, " "):
			fmt.Fprintf(&b, "%s = %q\n", r.Resource, r.Policy)
		default:
			fmt.Fprintf(&b, "%s {\n  policy = %q\n}\n", r.Resource, r.Policy)
		}
	}
	return b.String()
}

// comments name, per level or capability, the parts that need the rule.
func comments(r Rule) []string {
	by := map[string][]Need{}
	for _, u := range r.Uses {
		if _, ok := variablesRule(u.Rule); ok {
			by["variables"] = append(by["variables"], Need{Who: u.Who})
			continue
		}
		_, level, caps := parseRule("", u.Rule, "")
		key := level
		if len(caps) > 0 {
			key = caps[0]
		}
		by[key] = append(by[key], Need{Who: u.Who})
	}
	keys := sortedKeys(by)
	// write before read: the level granted first.
	sort.SliceStable(keys, func(i, j int) bool { return levelRank(keys[i]) > levelRank(keys[j]) })
	var out []string
	for _, k := range keys {
		out = append(out, k+": "+strings.Join(whos(by[k]), ", "))
	}
	return out
}

func quoted(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// VariablePath is a Nomad variables path rule inside a namespace rule.
type VariablePath struct {
	Path         string   `json:"path"`
	Capabilities []string `json:"capabilities"`
}

// variablesRule reads a rule "variables:PATH:cap,cap,...".
func variablesRule(rule string) (VariablePath, bool) {
	rest, ok := strings.CutPrefix(rule, "variables:")
	if !ok {
		return VariablePath{}, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return VariablePath{}, false
	}
	return VariablePath{Path: rest[:i], Capabilities: strings.Split(rest[i+1:], ",")}, true
}

// BackendWho is the Who of the backend's needs.
const BackendWho = "backend"

// BackendNeeds are what a consul or nomad backend at path needs: Consul
// key_prefix write on the path (the lock and the runs) and session write
// (the lock's session); Nomad read, list, write and destroy on the
// variables under the path (the lock's acquire, renew and release are
// writes; destroy removes old runs). The local backend needs nothing.
func BackendNeeds(kind, path string) []Need {
	switch kind {
	case "consul":
		return []Need{
			{Who: BackendWho, What: "the lock and the runs in Consul KV " + path, Cap: lang.Capability{API: lang.APIConsul, Rule: "key_prefix:" + path + "/:write"}},
			{Who: BackendWho, What: "the lock's session", Cap: lang.Capability{API: lang.APIConsul, Rule: "session_prefix::write"}},
		}
	case "nomad":
		return []Need{
			{Who: BackendWho, What: "the lock and the runs in Nomad variables " + path, Cap: lang.Capability{API: lang.APINomad, Rule: "variables:" + path + "/*:read,list,write,destroy"}},
		}
	}
	return nil
}
