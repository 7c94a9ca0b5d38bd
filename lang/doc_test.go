package lang

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

var update = flag.Bool("update", false, "rewrite the generated sections of ../LANGUAGE.md")

// TestLanguageDoc keeps the reference tables of LANGUAGE.md (actions,
// checks, data source filters, functions) equal to the schemas in code.
// Run `go test ./lang -run TestLanguageDoc -update` after changing a
// schema.
func TestLanguageDoc(t *testing.T) {
	const path = "../LANGUAGE.md"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	sections := map[string]string{
		"actions":   actionsDoc(),
		"checks":    checksDoc(),
		"data":      dataDoc(),
		"functions": functionsDoc(),
	}
	names := sortedKeys(sections)
	for _, name := range names {
		begin := fmt.Sprintf("<!-- BEGIN GENERATED: %s -->\n", name)
		end := fmt.Sprintf("<!-- END GENERATED: %s -->", name)
		i := strings.Index(doc, begin)
		j := strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("LANGUAGE.md lacks the markers for %s", name)
		}
		got := doc[i+len(begin) : j]
		if got != sections[name] {
			if *update {
				doc = doc[:i+len(begin)] + sections[name] + doc[j:]
				continue
			}
			t.Errorf("LANGUAGE.md section %s is out of date; run go test ./lang -run TestLanguageDoc -update", name)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(doc, "## Safety rules") {
		t.Error("LANGUAGE.md lacks the Safety rules section")
	}
}

func typeString(t cty.Type) string {
	switch {
	case t == cty.DynamicPseudoType:
		return "any"
	case t.IsPrimitiveType():
		return t.FriendlyName()
	case t.IsListType():
		return "list(" + typeString(t.ElementType()) + ")"
	case t.IsSetType():
		return "set(" + typeString(t.ElementType()) + ")"
	case t.IsMapType():
		return "map(" + typeString(t.ElementType()) + ")"
	case t.IsObjectType():
		var parts []string
		for _, n := range sortedKeys(t.AttributeTypes()) {
			parts = append(parts, n+" = "+typeString(t.AttributeType(n)))
		}
		return "object({" + strings.Join(parts, ", ") + "})"
	}
	return t.FriendlyName()
}

func attrTypeDoc(a AttrSpec) string {
	switch {
	case len(a.Objects) > 0:
		var kinds []string
		for _, o := range a.Objects {
			kinds = append(kinds, strings.TrimPrefix(kindNoun(o), "a "))
		}
		return "string or " + strings.Join(kinds, " or ")
	case a.Duration:
		return "duration"
	}
	return typeString(a.Type)
}

func attrTable(attrs []AttrSpec, extra []string) string {
	var b strings.Builder
	b.WriteString("| argument | type | required | description |\n|---|---|---|---|\n")
	for _, a := range attrs {
		req := "no"
		if a.Required {
			req = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", a.Name, attrTypeDoc(a), req, strings.ReplaceAll(a.Doc, "|", "\\|"))
	}
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

func targetDoc(k TargetKind, attr string) string {
	if k == TargetNone {
		return "none (acts on the cluster or locally)"
	}
	s := "`" + string(k) + "`"
	if attr != "" {
		s += fmt.Sprintf(", named by `%s` or else the step's target", attr)
	}
	return s
}

func actionsDoc() string {
	var b strings.Builder
	for _, name := range ActionTypes() {
		spec := ActionSpecs[name]
		effect := "`" + string(spec.Effect) + "`"
		if spec.DeclaresEffect {
			effect = "declared by the `effect` argument"
		}
		fmt.Fprintf(&b, "\n### action \"%s\"\n\n%s\n\n- Effect: %s\n- Target: %s\n- Cluster: %s\n- Step targets: %s\n- Reads: %s\n- Writes: %s\n- Resume probe: `%s`\n\n",
			name, spec.Doc, effect, targetDoc(spec.Target, spec.TargetAttr), clusterDoc(spec.Cluster), kindsDoc(spec.Targets, spec.TargetOptional), capsDoc(spec.Reads), capsDoc(spec.Writes), spec.Probe)
		b.WriteString(attrTable(spec.Attrs, nil))
	}
	b.WriteString("\n")
	return b.String()
}

func checksDoc() string {
	var b strings.Builder
	for _, name := range CheckNames() {
		spec := CheckSpecs[name]
		fmt.Fprintf(&b, "\n### check \"%s\"\n\n%s\n\n- Target: %s\n- Cluster read: %s\n- Reads: %s\n", name, spec.Doc, targetDoc(spec.Target, spec.TargetAttr), clusterRuleDoc(spec.Cluster), capsDoc(spec.Reads))
		if len(spec.Writes) > 0 {
			fmt.Fprintf(&b, "- Writes: %s\n", capsDoc(spec.Writes))
		}
		if spec.Remedy != RemedyNone {
			var rs []string
			for _, c := range []Cluster{ClusterNomadServers, ClusterNomadClients, ClusterConsulServers} {
				if a := RemedyAction(spec.Remedy, c); a != nil {
					rs = append(rs, fmt.Sprintf("`%s` on `%s`", a.Name, c))
				}
			}
			fmt.Fprintf(&b, "- Remedy (`%s`): %s, in the cluster read\n", spec.WriteAttr, strings.Join(rs, ", "))
		}
		fmt.Fprintf(&b, "- Wait: %s\n", waitDoc(spec.Wait))
		if len(spec.Proves) > 0 {
			var ps []string
			for _, p := range spec.Proves {
				ps = append(ps, "`"+string(p)+"`")
			}
			fmt.Fprintf(&b, "- Proves to the safety analysis: %s\n", strings.Join(ps, ", "))
		}
		b.WriteString("\n")
		b.WriteString(attrTable(spec.Attrs, []string{
			"| `timeout` | duration | on `wait` | How long a wait polls before it fails. |",
			"| `interval` | duration | no | `wait` only: poll interval, default 5s. |",
		}))
	}
	b.WriteString("\n")
	return b.String()
}

func clusterDoc(c Cluster) string {
	if c == ClusterNone {
		return "none"
	}
	return "`" + string(c) + "`"
}

func clusterRuleDoc(r ClusterRule) string {
	s := clusterDoc(r.Default)
	switch {
	case r.Attr != "" && r.FromTarget:
		s = fmt.Sprintf("the `%s` argument, else `consul_servers` when the target is a Consul server, else %s", r.Attr, s)
	case r.Attr != "":
		s = fmt.Sprintf("the `%s` argument, else %s", r.Attr, s)
	case r.FromTarget:
		s = fmt.Sprintf("`consul_servers` when the target is a Consul server, else %s", s)
	}
	return s
}

func kindsDoc(ks []TargetKind, optional bool) string {
	if len(ks) == 0 {
		return "none"
	}
	var out []string
	for _, k := range ks {
		out = append(out, "`"+string(k)+"`")
	}
	s := strings.Join(out, ", ")
	if optional {
		s += " (or no target)"
	}
	return s
}

func capsDoc(cs []Capability) string {
	if len(cs) == 0 {
		return "none"
	}
	var out []string
	for _, c := range cs {
		out = append(out, "`"+c.String()+"`")
	}
	return strings.Join(out, ", ")
}

func waitDoc(w WaitStrategy) string {
	s := fmt.Sprintf("`%s`, interval %s", w.Kind, w.Interval)
	if w.Settle {
		s += ", holds for the settle time"
	}
	if w.Stable {
		s += ", and until autopilot counts the server stable"
	}
	if w.Canaries {
		s += ", holds once the canaries are healthy and wait for promotion"
	}
	if w.Reregistered {
		s += "; after an action that restarts, stops, starts, creates or destroys the agent, only on a node record registered after that action began"
	}
	return s
}

func dataDoc() string {
	var b strings.Builder
	for _, dt := range DataSourceTypes {
		fmt.Fprintf(&b, "\n### data \"%s\"\n\nValue: `%s`\n\n", dt, typeString(DataSourceValueType(dt)))
		b.WriteString(attrTable(DataFilterSpecs[dt], nil))
	}
	b.WriteString("\n")
	return b.String()
}

func functionsDoc() string {
	names := FunctionNames()
	sort.Strings(names)
	for i, n := range names {
		names[i] = "`" + n + "`"
	}
	return "\n" + strings.Join(names, ", ") + "\n\n"
}

// TestLanguageDocExamplesParse checks that every hcl example in
// LANGUAGE.md is valid HCL syntax. Examples are fragments, so references
// and schemas are not checked here; the corpus covers those.
func TestLanguageDocExamplesParse(t *testing.T) {
	src, err := os.ReadFile("../LANGUAGE.md")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(src), "```hcl\n")
	if len(parts) < 5 {
		t.Fatalf("only %d hcl examples", len(parts)-1)
	}
	for i, p := range parts[1:] {
		example, _, ok := strings.Cut(p, "```")
		if !ok {
			t.Fatalf("example %d is not closed", i+1)
		}
		if _, diags := hclsyntax.ParseConfig([]byte(example), fmt.Sprintf("example-%d", i+1), hcl.InitialPos); diags.HasErrors() {
			t.Errorf("example %d:\n%s\n%s", i+1, example, diags.Error())
		}
	}
}

// TestExecTimeoutDocumented: the exec timeout's doc states ExecTimeout.
func TestExecTimeoutDocumented(t *testing.T) {
	d := ExecTimeout.String() // "30m0s": written "30m"
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	want := "Default: " + d + "."
	for _, a := range ActionSpecs["exec"].Attrs {
		if a.Name == "timeout" && !strings.Contains(a.Doc, want) {
			t.Errorf("exec timeout doc %q does not say %q", a.Doc, want)
		}
	}
}
