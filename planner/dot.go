package planner

import "strings"

// DOT renders the graph in Graphviz DOT syntax. The output depends only on
// the runbook: nodes appear in Order, edges sorted by the Order of their
// source and then their target, so it can be diffed and kept as a golden.
//
// Each composite step is drawn as a cluster holding its inner DAG; an edge
// into or out of a composite is drawn to its first or from its last inner
// step and clipped at the cluster border (compound = true). An edge that
// closes a dependency cycle is drawn in red.
func (g *Graph) DOT() string {
	var b strings.Builder
	b.WriteString("digraph \"runbook\" {\n")
	b.WriteString("  compound = true;\n")
	b.WriteString("  node [shape = \"box\"];\n")
	for _, s := range g.order {
		if ig := g.Inner(s); ig != nil && len(ig.order) > 0 {
			b.WriteString("  subgraph " + dotID("cluster_"+s.String()) + " {\n")
			b.WriteString("    label = " + dotID(s.String()) + ";\n")
			for _, in := range ig.order {
				// The cluster's label already names the composite.
				b.WriteString("    " + dotID(in.String()) + " [label = " + dotID(in.Name) + "];\n")
			}
			ig.writeEdges(&b, "    ")
			b.WriteString("  }\n")
			continue
		}
		b.WriteString("  " + dotID(s.String()) + ";\n")
	}
	g.writeEdges(&b, "  ")
	b.WriteString("}\n")
	return b.String()
}

// writeEdges writes the edges of one level of the graph.
func (g *Graph) writeEdges(b *strings.Builder, indent string) {
	for p, from := range g.order {
		for _, q := range g.succs[p] {
			to := g.order[q]
			tail, head := from, to
			var attrs []string
			if ig := g.Inner(from); ig != nil && len(ig.order) > 0 {
				tail = ig.order[len(ig.order)-1]
				attrs = append(attrs, "ltail = "+dotID("cluster_"+from.String()))
			}
			if ig := g.Inner(to); ig != nil && len(ig.order) > 0 {
				head = ig.order[0]
				attrs = append(attrs, "lhead = "+dotID("cluster_"+to.String()))
			}
			if q <= p {
				attrs = append(attrs, "color = \"red\"")
			}
			b.WriteString(indent + dotID(tail.String()) + " -> " + dotID(head.String()))
			if len(attrs) > 0 {
				b.WriteString(" [" + strings.Join(attrs, ", ") + "]")
			}
			b.WriteString(";\n")
		}
	}
}

// dotID quotes s as a DOT string ID.
func dotID(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
