package acl

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
)

// Grants is what a token's policies grant on one API, read coarsely from
// their rules: the level of each resource and the capabilities of each
// Nomad namespace rule. Consul rules on single names (node "c1") are not
// counted; only prefix rules ("") and top-level levels are.
type Grants struct {
	API        lang.API
	Management bool
	// Levels maps a resource as Rule.Resource writes it (node, operator,
	// node_prefix "") to "read", "write" or "deny".
	Levels map[string]string
	// Namespaces maps a Nomad namespace name or glob to its capabilities.
	Namespaces map[string][]string
	// Variables maps a Nomad namespace and a variables path (either may
	// be a glob), joined by a NUL byte as Nomad keys them, to the path's
	// capabilities.
	Variables map[string][]string
}

// ParseRules reads the rules (policy HCL) of a token's policies into one
// Grants; deny wins over any grant, as in Nomad and Consul.
func ParseRules(api lang.API, rules map[string]string) (*Grants, hcl.Diagnostics) {
	g := &Grants{API: api, Levels: map[string]string{}, Namespaces: map[string][]string{}, Variables: map[string][]string{}}
	var diags hcl.Diagnostics
	for _, name := range sortedKeys(rules) {
		f, d := hclsyntax.ParseConfig([]byte(rules[name]), "policy "+name, hcl.InitialPos)
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		body := f.Body.(*hclsyntax.Body)
		for _, a := range body.Attributes {
			if s, ok := attrString(a); ok {
				g.level(a.Name, s)
			}
		}
		for _, b := range body.Blocks {
			res := b.Type
			if api == lang.APIConsul || len(b.Labels) > 0 {
				if len(b.Labels) != 1 {
					continue
				}
				res = fmt.Sprintf("%s %q", b.Type, b.Labels[0])
			}
			var level string
			if a := b.Body.Attributes["policy"]; a != nil {
				level, _ = attrString(a)
			}
			if api == lang.APINomad && b.Type == "namespace" && len(b.Labels) == 1 {
				caps := expandNamespace(level)
				if a := b.Body.Attributes["capabilities"]; a != nil {
					if v, d := a.Expr.Value(nil); !d.HasErrors() && v.CanIterateElements() {
						for it := v.ElementIterator(); it.Next(); {
							_, e := it.Element()
							if e.Type() == cty.String && e.IsKnown() && !e.IsNull() {
								caps = append(caps, e.AsString())
							}
						}
					}
				}
				g.Namespaces[b.Labels[0]] = union(g.Namespaces[b.Labels[0]], caps)
				g.variables(b.Labels[0], b.Body)
				continue
			}
			if level != "" {
				g.level(res, level)
			}
		}
	}
	return g, diags
}

// variables reads the variables block of a Nomad namespace rule: each
// path's capabilities, read implying list as Nomad expands it.
func (g *Grants) variables(ns string, body *hclsyntax.Body) {
	for _, vb := range body.Blocks {
		if vb.Type != "variables" {
			continue
		}
		for _, pb := range vb.Body.Blocks {
			if pb.Type != "path" || len(pb.Labels) != 1 {
				continue
			}
			caps := stringList(pb.Body.Attributes["capabilities"])
			if contains(caps, "read") {
				caps = append(caps, "list")
			}
			k := ns + "\x00" + pb.Labels[0]
			g.Variables[k] = union(g.Variables[k], caps)
		}
	}
}

func stringList(a *hclsyntax.Attribute) []string {
	var out []string
	if a == nil {
		return nil
	}
	if v, d := a.Expr.Value(nil); !d.HasErrors() && v.CanIterateElements() {
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.Type() == cty.String && e.IsKnown() && !e.IsNull() {
				out = append(out, e.AsString())
			}
		}
	}
	return out
}

// variableCaps is what Nomad grants on the variable at path in namespace
// ns (acl.matchingVariablesCapabilitySet, Nomad 1.10): the exact rule,
// else the matching glob closest to it; the matched rule, "" for none.
func (g *Grants) variableCaps(ns, path string) (caps []string, rule string) {
	name := ns + "\x00" + path
	if c, ok := g.Variables[name]; ok && !strings.Contains(name, "*") {
		return c, name
	}
	best, diff := "", 0
	for k := range g.Variables {
		if !strings.Contains(k, "*") || !globMatch(k, name) {
			continue
		}
		d := len(name) - len(k) + strings.Count(k, "*")
		if best == "" || d < diff || d == diff && k < best {
			best, diff = k, d
		}
	}
	if best == "" {
		return nil, ""
	}
	return g.Variables[best], best
}

// globMatch is Nomad's glob: * matches any run of characters, / included.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// variablesSamples are the variables a variables rule on path stands for,
// which are checked: a glob's * stands for the lock and a journal chunk
// (what the backend writes under its path).
func variablesSamples(path string) []string {
	if !strings.Contains(path, "*") {
		return []string{path}
	}
	return []string{strings.Replace(path, "*", "lock", 1), strings.Replace(path, "*", "runs/RUN-ID/j/000001", 1)}
}

func attrString(a *hclsyntax.Attribute) (string, bool) {
	v, d := a.Expr.Value(nil)
	if d.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

func (g *Grants) level(res, l string) {
	switch cur := g.Levels[res]; {
	case cur == "deny":
	case l == "deny" || levelRank(l) > levelRank(cur):
		g.Levels[res] = l
	}
}

// expandNamespace is Nomad's namespace policy shorthand as capabilities
// (acl/policy.go expandNamespacePolicy, Nomad 1.10), as far as nrun's
// catalog uses them.
func expandNamespace(policy string) []string {
	read := []string{"list-jobs", "parse-job", "read-job", "csi-list-volume", "csi-read-volume", "read-job-scaling", "list-scaling-policies", "read-scaling-policy", "host-volume-read"}
	switch policy {
	case "deny":
		return []string{"deny"}
	case "read":
		return read
	case "write":
		return append(read, "scale-job", "submit-job", "dispatch-job", "read-logs", "read-fs", "alloc-exec", "alloc-lifecycle", "csi-mount-volume", "csi-write-volume", "submit-recommendation", "host-volume-create")
	case "scale":
		return []string{"list-scaling-policies", "read-scaling-policy", "read-job-scaling", "scale-job"}
	}
	return nil
}

// Missing is a need the token does not grant.
type Missing struct {
	Need Need
	// Has says what the token's policies grant on the resource instead,
	// e.g. "node read", "nothing on node".
	Has string
}

// Check returns the needs on g's API that g does not grant, in the order
// of needs. A management token grants everything; a need for management
// is granted by nothing else. ns is the runbook's namespace.
func Check(needs []Need, g *Grants, ns string) []Missing {
	var out []Missing
	for _, n := range needs {
		if n.Cap.API != g.API || g.Management {
			continue
		}
		if n.Cap.Rule == "management" {
			out = append(out, Missing{Need: n, Has: "no management"})
			continue
		}
		if vp, ok := variablesRule(n.Cap.Rule); ok && g.API == lang.APINomad {
			if has, ok := g.checkVariables(vp, ns); !ok {
				out = append(out, Missing{Need: n, Has: has})
			}
			continue
		}
		res, level, caps := parseRule(g.API, n.Cap.Rule, ns)
		if len(caps) > 0 {
			pattern := strings.TrimSuffix(strings.TrimPrefix(res, `namespace "`), `"`)
			have := g.namespaceCaps(pattern)
			if !contains(have, "deny") && contains(have, caps[0]) {
				continue
			}
			out = append(out, Missing{Need: n, Has: describeCaps(res, have)})
			continue
		}
		have := g.Levels[res]
		if have != "deny" && levelRank(have) >= levelRank(level) {
			continue
		}
		if have == "" {
			have = "nothing"
		}
		out = append(out, Missing{Need: n, Has: res + " " + have})
	}
	return out
}

// checkVariables reports whether g grants every capability of vp on the
// variables it stands for in namespace ns, and else what it grants.
func (g *Grants) checkVariables(vp VariablePath, ns string) (string, bool) {
	for _, p := range variablesSamples(vp.Path) {
		have, rule := g.variableCaps(ns, p)
		ok := !contains(have, "deny")
		for _, c := range vp.Capabilities {
			ok = ok && contains(have, c)
		}
		if !ok {
			if rule == "" {
				return fmt.Sprintf("nothing on the variable %s in namespace %q", p, ns), false
			}
			rns, rpath, _ := strings.Cut(rule, "\x00")
			return fmt.Sprintf("%s on variables path %q in namespace %q", strings.Join(have, ", "), rpath, rns), false
		}
	}
	return "", true
}

// namespaceCaps is what Nomad grants in namespace ns: the exact rule,
// else the closest glob. For "*" (every namespace) only a "*" rule can
// prove it.
func (g *Grants) namespaceCaps(ns string) []string {
	if c, ok := g.Namespaces[ns]; ok {
		return c
	}
	if ns == "*" {
		return nil
	}
	var globs []string
	for p := range g.Namespaces {
		if ok, _ := path.Match(p, ns); ok && strings.Contains(p, "*") {
			globs = append(globs, p)
		}
	}
	// Nomad picks the glob that matches with the fewest characters left
	// to the wildcards: the longest pattern.
	sort.Slice(globs, func(i, j int) bool {
		return len(globs[i]) > len(globs[j]) || len(globs[i]) == len(globs[j]) && globs[i] < globs[j]
	})
	if len(globs) > 0 {
		return g.Namespaces[globs[0]]
	}
	return nil
}

func describeCaps(res string, have []string) string {
	if len(have) == 0 {
		return "nothing in " + res
	}
	return res + " " + strings.Join(have, ", ")
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// Access splits a capability rule into the resource, segment and level an
// API's own authorizer is asked about: "node:write" is ("node", "",
// "write"), a prefix rule "key_prefix:nrun/x/:write" is ("key", "nrun/x/",
// "write"). ok is false for management, namespace and variables rules.
func Access(rule string) (resource, segment, level string, ok bool) {
	parts := strings.Split(rule, ":")
	switch {
	case len(parts) == 3 && strings.HasSuffix(parts[0], "_prefix"):
		return strings.TrimSuffix(parts[0], "_prefix"), parts[1], parts[2], true
	case len(parts) != 2 || parts[0] == "namespace" || parts[0] == "variables":
		return "", "", "", false
	}
	return parts[0], "", parts[1], true
}

// CheckAuthorized is Check for an API that evaluates the token's rights
// itself (Consul's authorizer): allowed holds its answers, keyed by
// resource, segment and level, for every Access of needs and the read
// level of each resource and segment.
func CheckAuthorized(needs []Need, api lang.API, allowed map[[3]string]bool) []Missing {
	var out []Missing
	for _, n := range needs {
		if n.Cap.API != api {
			continue
		}
		res, seg, level, ok := Access(n.Cap.Rule)
		if !ok {
			out = append(out, Missing{Need: n, Has: "no management"})
			continue
		}
		if allowed[[3]string{res, seg, level}] {
			continue
		}
		has := "nothing"
		if level == "write" && allowed[[3]string{res, seg, "read"}] {
			has = "read"
		}
		shown, _, _ := parseRule(api, n.Cap.Rule, "")
		out = append(out, Missing{Need: n, Has: shown + " " + has})
	}
	return out
}
