package views

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/planner"
)

// PlanView prints a plan. The human, Markdown and JSON forms are three
// implementations; each is a pure function of the plan and its own
// settings.
type PlanView interface {
	Plan(w io.Writer, p *planner.Plan) error
}

// PlanHuman prints a plan for a terminal, modelled on `nomad plan`: the
// cluster, one entry per step instance, the execution order, waivers and
// warnings, the summary line and how to apply.
type PlanHuman struct {
	// Color turns on ANSI colour; the command decides (terminal, NO_COLOR,
	// -no-color).
	Color bool
	// Apply is what the "To apply" line puts after 'nrun apply': the
	// saved plan file, or the runbook path when the plan was not saved,
	// with the -var and -var-file options apply needs, quoted for the
	// shell. The line is left out when there is nothing to apply or the
	// plan has errors.
	Apply string
	// ApplyNote is printed under the "To apply" line, e.g. to say that a
	// sensitive value shown as NAME=... must be given again.
	ApplyNote string
	// MaxWave caps how many addresses one wave line lists; 0 means 12.
	MaxWave int
}

// PlanMarkdown prints a plan for a pull request comment: the summary and
// whatever needs attention first, the details in collapsible sections.
type PlanMarkdown struct {
	// Apply and ApplyNote are as in PlanHuman.
	Apply     string
	ApplyNote string
	// MaxInstances caps the instances listed in the details, because a
	// pull request comment has a size limit; 0 means 50. It also caps the
	// list of instances that would block now; the summary line counts all. (100 node drains with
	// their details make about 67 kB; GitHub takes 65,536 characters.)
	MaxInstances int
}

// PlanJSON prints the plan's JSON form (docs/plan-json.md), indented, with
// a final newline. It is also the saved plan file's format.
type PlanJSON struct{}

// Plan implements PlanView.
func (PlanJSON) Plan(w io.Writer, p *planner.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// SummaryLine is the one-line verdict of a plan:
//
//	Plan: 7 step instances, 3 disrupt servers, 2 drain nodes, 0 blocked now.
func SummaryLine(p *planner.Plan) string {
	s := p.Summary
	return fmt.Sprintf("Plan: %s, %d disrupt server%s, %d drain node%s, %d blocked now.",
		plural(s.Instances, "step instance"), s.DisruptServers, pluralS(s.DisruptServers), s.DrainNodes, pluralS(s.DrainNodes), s.BlockedNow)
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// palette holds the escape codes for one rendering; all empty without
// colour.
type palette struct {
	reset, bold, red, green, yellow, cyan, magenta, dim string
}

func newPalette(color bool) palette {
	if !color {
		return palette{}
	}
	return palette{reset: "\x1b[0m", bold: "\x1b[1m", red: "\x1b[31m", green: "\x1b[32m", yellow: "\x1b[33m", cyan: "\x1b[36m", magenta: "\x1b[35m", dim: "\x1b[2m"}
}

func (c palette) glyph(g planner.Glyph) string {
	code := ""
	switch g {
	case planner.GlyphChange:
		code = c.yellow
	case planner.GlyphRemove:
		code = c.red
	case planner.GlyphCreate:
		code = c.green
	case planner.GlyphDrain:
		code = c.magenta
	case planner.GlyphRestore:
		code = c.red
	}
	if code == "" {
		return g.String()
	}
	return c.bold + code + g.String() + c.reset
}

// Plan implements PlanView.
func (h PlanHuman) Plan(w io.Writer, p *planner.Plan) error {
	var b strings.Builder
	c := newPalette(h.Color)
	writeHeader(&b, p, c)
	writeWaivers(&b, p, c)
	writeInstances(&b, p, c)
	writeDisabled(&b, p, c)
	writeWaves(&b, p, h.MaxWave)
	writeDiagnostics(&b, p, c)
	fmt.Fprintf(&b, "%s%s%s\n", c.bold, SummaryLine(p), c.reset)
	if h.Apply != "" && !hasErrors(p) && p.Summary.Instances > 0 {
		fmt.Fprintf(&b, "\nTo apply: nrun apply %s\n", h.Apply)
		if h.ApplyNote != "" {
			fmt.Fprintf(&b, "  %s\n", h.ApplyNote)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeDisabled lists the steps skipped because their enabled argument is
// false, with the expression that said so.
func writeDisabled(b *strings.Builder, p *planner.Plan, c palette) {
	n := 0
	for _, s := range p.Steps {
		if !s.Disabled {
			continue
		}
		if n == 0 {
			b.WriteString("nrun will skip these steps (enabled is false):\n\n")
		}
		n++
		fmt.Fprintf(b, "  %s%s%s: enabled = %s\n", c.bold, s.Addr, c.reset, s.DisabledBy)
		if s.Description != "" {
			fmt.Fprintf(b, "    # %s\n", s.Description)
		}
	}
	if n > 0 {
		b.WriteString("\n")
	}
}

func hasErrors(p *planner.Plan) bool {
	for _, d := range p.Diagnostics {
		if d.Severity == "error" {
			return true
		}
	}
	return false
}

func writeHeader(b *strings.Builder, p *planner.Plan, c palette) {
	name := p.Runbook.Name
	if name == "" {
		name = "(unnamed runbook)"
	}
	fmt.Fprintf(b, "%sRunbook %s%s (%s)\n", c.bold, name, c.reset, strings.Join(p.Runbook.Paths, ", "))
	if p.Runbook.Description != "" {
		fmt.Fprintf(b, "  %s\n", p.Runbook.Description)
	}
	b.WriteString("\n")
	writeRaft(b, "Nomad", "region", p.Cluster.Nomad, c)
	writeRaft(b, "Consul", "datacenter", p.Cluster.Consul, c)
	if p.Cluster.NotNeeded {
		b.WriteString("No cluster needed: the runbook neither reads nor changes one.\n\n")
	} else if p.Cluster.Nomad == nil && p.Cluster.Consul == nil {
		b.WriteString("No cluster was read.\n\n")
	} else if !p.Cluster.Taken.IsZero() {
		fmt.Fprintf(b, "Cluster read at %s", p.Cluster.Taken.UTC().Format("2006-01-02 15:04:05 UTC"))
		if p.Cluster.Source == planner.SourceInventory {
			fmt.Fprintf(b, ", from the inventory file %s", p.Cluster.Inventory)
		}
		b.WriteString(".\n\n")
	}
	writeIdentities(b, p.Cluster.Identities)
	if len(p.Variables) > 0 {
		b.WriteString("Variables:\n")
		width := 0
		for _, v := range p.Variables {
			width = max(width, len(v.Name))
		}
		for _, v := range p.Variables {
			fmt.Fprintf(b, "  %-*s = %s\n", width, v.Name, v.Value)
		}
		b.WriteString("\n")
	}
}

func writeRaft(b *strings.Builder, system, regionWord string, r *planner.RaftInfo, c palette) {
	if r == nil {
		return
	}
	leader := r.Leader
	if leader == "" {
		leader = c.red + "none" + c.reset
	}
	fmt.Fprintf(b, "%s%s%s (%s %s, %s): %s, leader %s, %d/%d voters healthy, quorum %d, failure tolerance %s, version%s %s",
		c.bold, system, c.reset, regionWord, r.Region, r.Address, plural(len(r.Servers), "server"), leader,
		r.HealthyVoters, r.Voters, r.Quorum, tolerance(r.FailureTolerance, c), pluralS(len(r.Versions)), strings.Join(r.Versions, ", "))
	// Nodes are read only when the runbook is about nodes; a count of 0
	// there would claim an empty cluster.
	if system == "Nomad" && r.Nodes > 0 {
		fmt.Fprintf(b, ", %s", plural(r.Nodes, "client node"))
	}
	b.WriteString("\n")
	nw, aw := 0, 0
	for _, s := range r.Servers {
		nw, aw = max(nw, len(s.Name)), max(aw, len(s.Address))
	}
	for _, s := range r.Servers {
		role := "non-voter"
		if s.Voter {
			role = "voter"
		}
		health := "healthy"
		if !s.Healthy {
			health = c.red + "unhealthy" + c.reset
		}
		status := s.Status
		if status == "" {
			status = "unknown"
		}
		fmt.Fprintf(b, "  %-*s  %-*s  %-8s  %-9s  %-7s  %s", nw, s.Name, aw, s.Address, s.Version, role, status, health)
		if s.Leader {
			fmt.Fprintf(b, "  %sleader%s", c.bold, c.reset)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func tolerance(n int, c palette) string {
	if n <= 0 {
		return c.red + fmt.Sprint(n) + c.reset
	}
	return fmt.Sprint(n)
}

func writeInstances(b *strings.Builder, p *planner.Plan, c palette) {
	if len(p.Instances) == 0 {
		b.WriteString("No step instances: nothing to do.\n\n")
		return
	}
	b.WriteString("nrun will run these step instances, in this order:\n\n")
	budget := map[string]string{}
	for _, s := range p.Steps {
		if s.MaxFailures != "" {
			budget[s.Addr] = s.MaxFailures
		}
	}
	for _, in := range p.Instances {
		indent := ""
		if in.Parent != "" {
			indent = "    "
		}
		fmt.Fprintf(b, "%s%s %s%s%s", indent, c.glyph(in.Glyph), c.bold, in.Addr.String(), c.reset)
		if t := targetText(in.Target); t != "" && in.Parent == "" {
			fmt.Fprintf(b, " on %s", t)
		}
		b.WriteString("\n")
		pad := indent + "    "
		if in.Description != "" {
			fmt.Fprintf(b, "%s# %s\n", pad, in.Description)
		}
		if in.Action != nil {
			fmt.Fprintf(b, "%saction %s (effect %s)\n", pad, in.Action.Type, in.Action.Effect)
			writeArgs(b, pad+"  ", in.Action.Args)
			writeTerraformPreview(b, pad+"  ", in.Action.Terraform, c)
			writeJobPreview(b, pad+"  ", in.Action.Job, c)
			writeSnapshotPreview(b, pad+"  ", in.Action.Snapshot, c)
		}
		var settings []string
		if in.Timeout > 0 {
			settings = append(settings, "timeout "+in.Timeout.String())
		}
		if in.OnFailure != "" && in.OnFailure != "abort" && !in.OnFailureInherited {
			settings = append(settings, "on_failure "+string(in.OnFailure))
		}
		if b := budget[in.Step.String()]; b != "" && in.Parent == "" {
			settings = append(settings, "max_failures "+b)
		}
		if in.Retry != nil {
			settings = append(settings, fmt.Sprintf("retry %d times every %s", in.Retry.Attempts, in.Retry.Delay))
		}
		if len(settings) > 0 {
			fmt.Fprintf(b, "%s%s\n", pad, strings.Join(settings, ", "))
		}
		for _, pc := range in.Preconditions {
			fmt.Fprintf(b, "%sprecondition %s%s: %s\n", pad, pc.Name, argsInline(pc.Args), nowText(pc.Now, c))
		}
		for _, wt := range in.Waits {
			fmt.Fprintf(b, "%swait %s%s up to %s\n", pad, wt.Name, argsInline(wt.Args), wt.Timeout)
		}
		b.WriteString("\n")
	}
}

func targetText(t planner.Target) string {
	if t.Kind == "" && t.Name == "" && t.ID == "" {
		return ""
	}
	name := t.Name
	if name == "" {
		name = t.ID
	}
	kind := strings.ReplaceAll(string(t.Kind), "_", " ")
	if kind == "" {
		kind = "target"
	}
	s := kind + " " + name
	if t.Address != "" {
		s += " (" + t.Address + ")"
	}
	return s
}

func writeArgs(b *strings.Builder, pad string, args []planner.Arg) {
	width := 0
	for _, a := range args {
		width = max(width, len(a.Name))
	}
	for _, a := range args {
		fmt.Fprintf(b, "%s%-*s = %s\n", pad, width, a.Name, a.Value)
	}
}

func argsInline(args []planner.Arg) string {
	if len(args) == 0 {
		return ""
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.Name + " = " + a.Value
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func nowText(n *planner.CheckNow, c palette) string {
	if n == nil {
		return "not evaluated"
	}
	var s string
	switch n.Status {
	case planner.CheckOK:
		s = c.green + "ok now" + c.reset
	case planner.CheckBlocked:
		s = c.bold + c.red + "would block now" + c.reset
		if n.Reason != "" {
			s += ": " + n.Reason
		}
	case planner.CheckHandled:
		s = c.yellow + "handled at apply" + c.reset
		if n.Reason != "" {
			s += ": " + n.Reason
		}
	default:
		s = c.dim + "known at apply" + c.reset
		if n.Reason != "" {
			s += " (" + n.Reason + ")"
		}
	}
	if n.Observed != "" {
		s += " [" + n.Observed + "]"
	}
	return s
}

func writeWaves(b *strings.Builder, p *planner.Plan, maxWave int) {
	if len(p.Waves) == 0 {
		return
	}
	if maxWave <= 0 {
		maxWave = 12
	}
	fmt.Fprintf(b, "Execution order (%s; instances in one wave may run at the same time):\n", plural(len(p.Waves), "wave"))
	for i, w := range p.Waves {
		shown := w
		more := 0
		if len(w) > maxWave {
			shown, more = w[:maxWave], len(w)-maxWave
		}
		line := strings.Join(shown, ", ")
		if more > 0 {
			line += fmt.Sprintf(" and %d more", more)
		}
		fmt.Fprintf(b, "  %d. %s\n", i+1, line)
	}
	b.WriteString("\n")
}

// writeWaivers prints the waived safety rules before anything else the
// plan does, so a reviewer cannot scroll past them.
func writeWaivers(b *strings.Builder, p *planner.Plan, c palette) {
	if len(p.Waivers) > 0 {
		fmt.Fprintf(b, "%s%sWaived safety rules (allow_unsafe):%s\n", c.bold, c.yellow, c.reset)
		for _, w := range p.Waivers {
			used := "not needed by this plan"
			if w.Used {
				used = "a violation was found and waived"
			}
			fmt.Fprintf(b, "  %s%s%s on %s (%s): %s\n    reason: %s\n", c.bold, w.Rule, c.reset, w.Step, used, w.Range, w.Reason)
		}
		b.WriteString("\n")
	}
}

// writeDiagnostics prints the analysis' findings at plan time.
func writeDiagnostics(b *strings.Builder, p *planner.Plan, c palette) {
	for _, d := range p.Diagnostics {
		word, code := "Warning", c.yellow
		if d.Severity == "error" {
			word, code = "Error", c.red
		}
		fmt.Fprintf(b, "%s%s%s:%s %s", c.bold, code, word, c.reset, d.Summary)
		if d.Range != "" {
			fmt.Fprintf(b, " (%s)", d.Range)
		}
		b.WriteString("\n")
		if d.Detail != "" {
			fmt.Fprintf(b, "  %s\n", d.Detail)
		}
		b.WriteString("\n")
	}
}

// PlanTitle is the name a plan's Markdown is known by: the runbook
// block's name, else its source files. Commands pass the same name to
// PlanMarkdownFailed, so a failed plan's comment replaces the last good
// one's.
func PlanTitle(p *planner.Plan) string {
	if p.Runbook.Name != "" {
		return p.Runbook.Name
	}
	return strings.Join(p.Runbook.Paths, ", ")
}

// MarkdownMarker is the first line of every plan Markdown document, an
// HTML comment that GitHub and GitLab do not show. It depends only on
// the runbook's name, so a CI job can find the comment it posted for
// this runbook and edit it in place instead of adding another.
func MarkdownMarker(name string) string {
	// "--" may not appear inside an HTML comment, and a newline would
	// split the marker over lines that a search for it could miss.
	name = strings.Join(strings.Fields(name), " ")
	for strings.Contains(name, "--") {
		name = strings.ReplaceAll(name, "--", "-")
	}
	return "<!-- nrun-plan: " + name + " -->"
}

// Plan implements PlanView.
func (m PlanMarkdown) Plan(w io.Writer, p *planner.Plan) error {
	var b strings.Builder
	name := PlanTitle(p)
	fmt.Fprintf(&b, "%s\n### nrun plan: %s\n\n", MarkdownMarker(name), mdCode(name))
	fmt.Fprintf(&b, "**%s**\n\n", SummaryLine(p))
	writeSourceMarkdown(&b, p)
	if r := p.Cluster.Nomad; r != nil {
		fmt.Fprintf(&b, "Nomad: %s, leader `%s`, %d/%d voters healthy, failure tolerance %d.", plural(len(r.Servers), "server"), r.Leader, r.HealthyVoters, r.Voters, r.FailureTolerance)
		if cr := p.Cluster.Consul; cr != nil {
			fmt.Fprintf(&b, " Consul: %s, leader `%s`, failure tolerance %d.", plural(len(cr.Servers), "server"), cr.Leader, cr.FailureTolerance)
		}
		b.WriteString("\n\n")
	}
	writeVariablesMarkdown(&b, p)
	var blocked []*planner.Instance
	for _, in := range p.Instances {
		if in.BlockedNow {
			blocked = append(blocked, in)
		}
	}
	if len(blocked) > 0 {
		b.WriteString("**Would block now:**\n\n")
		limit := m.MaxInstances
		if limit <= 0 {
			limit = 50
		}
		more := 0
		if len(blocked) > limit {
			blocked, more = blocked[:limit], len(blocked)-limit
		}
		for _, in := range blocked {
			for _, pc := range in.Preconditions {
				if pc.Blocking {
					fmt.Fprintf(&b, "- `%s`: precondition `%s`: %s\n", in.Addr.String(), pc.Name, mdEscape(pc.Now.Reason))
				}
			}
		}
		if more > 0 {
			fmt.Fprintf(&b, "- …and %d more instances that would block now.\n", more)
		}
		b.WriteString("\n")
	}
	if len(p.Waivers) > 0 {
		b.WriteString("> [!WARNING]\n> Safety rules waived by `allow_unsafe`:\n")
		for _, wv := range p.Waivers {
			fmt.Fprintf(&b, "> - **%s** on `%s`: %s\n", wv.Rule, wv.Step, mdEscape(wv.Reason))
		}
		b.WriteString("\n")
	}
	writeJobPreviewsMarkdown(&b, p)
	writeSnapshotPreviewsMarkdown(&b, p)
	for _, d := range p.Diagnostics {
		fmt.Fprintf(&b, "- **%s**: %s", d.Severity, mdEscape(d.Summary))
		if d.Range != "" {
			fmt.Fprintf(&b, " (`%s`)", d.Range)
		}
		b.WriteString("\n")
	}
	if len(p.Diagnostics) > 0 {
		b.WriteString("\n")
	}
	writeTerraformMarkdown(&b, p)
	skipped := 0
	for _, s := range p.Steps {
		if !s.Disabled {
			continue
		}
		if skipped == 0 {
			b.WriteString("**Skipped steps (enabled is false):**\n\n")
		}
		skipped++
		fmt.Fprintf(&b, "- `%s`: `enabled = %s`", s.Addr, mdCell(s.DisabledBy))
		if s.Description != "" {
			fmt.Fprintf(&b, ": %s", mdEscape(s.Description))
		}
		b.WriteString("\n")
	}
	if skipped > 0 {
		b.WriteString("\n")
	}

	if len(p.Instances) > 0 {
		composite := len(p.Instances) - p.Summary.Instances
		if composite > 0 {
			fmt.Fprintf(&b, "<details><summary>Step instances (%d, and %d composite)</summary>\n\n", p.Summary.Instances, composite)
		} else {
			fmt.Fprintf(&b, "<details><summary>Step instances (%d)</summary>\n\n", p.Summary.Instances)
		}
		b.WriteString("| | Instance | Target | Action | Preconditions now |\n|---|---|---|---|---|\n")
		limit := m.MaxInstances
		if limit <= 0 {
			limit = 50
		}
		shown := p.Instances
		if len(shown) > limit {
			shown = shown[:limit]
		}
		more := len(p.Instances) - len(shown)
		for _, in := range shown {
			action := ""
			if in.Action != nil {
				action = fmt.Sprintf("`%s` (%s)", in.Action.Type, in.Action.Effect)
			}
			var pcs []string
			for _, pc := range in.Preconditions {
				st := "unknown"
				if pc.Now != nil {
					st = string(pc.Now.Status)
				}
				pcs = append(pcs, fmt.Sprintf("`%s` %s", pc.Name, st))
			}
			addr := "`" + mdCell(in.Addr.String()) + "`"
			if in.Description != "" {
				addr += ": " + mdEscape(in.Description)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", in.Glyph, addr, mdCell(targetText(in.Target)), action, strings.Join(pcs, ", "))
		}
		if more > 0 {
			fmt.Fprintf(&b, "\n…and %d more; `nrun plan -json` lists them all.\n", more)
		}
		b.WriteString("\n</details>\n\n")

		b.WriteString("<details><summary>Details</summary>\n\n```text\n")
		var inner strings.Builder
		part := *p
		part.Instances = shown
		writeInstances(&inner, &part, palette{})
		if more > 0 {
			fmt.Fprintf(&inner, "…and %d more.\n", more)
		}
		b.WriteString(strings.TrimRight(inner.String(), "\n"))
		b.WriteString("\n```\n\n</details>\n\n")

		fmt.Fprintf(&b, "<details><summary>Execution order (%s)</summary>\n\n", plural(len(p.Waves), "wave"))
		for i, wv := range p.Waves {
			if i == limit {
				fmt.Fprintf(&b, "\n…and %d more waves.\n", len(p.Waves)-limit)
				break
			}
			n := min(len(wv), 12)
			addrs := make([]string, n)
			for j, a := range wv[:n] {
				addrs[j] = "`" + a + "`"
			}
			line := strings.Join(addrs, ", ")
			if len(wv) > n {
				line += fmt.Sprintf(" and %d more", len(wv)-n)
			}
			fmt.Fprintf(&b, "%d. %s\n", i+1, line)
		}
		b.WriteString("\n</details>\n\n")
	}
	if m.Apply != "" && !hasErrors(p) && p.Summary.Instances > 0 {
		fmt.Fprintf(&b, "To apply: %s\n", mdCode("nrun apply "+m.Apply))
		if m.ApplyNote != "" {
			fmt.Fprintf(&b, "\n%s\n", mdEscape(m.ApplyNote))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSourceMarkdown says what the plan was made against: a reviewer
// must be able to tell an offline plan from a live one, and how old the
// cluster view is.
func writeSourceMarkdown(b *strings.Builder, p *planner.Plan) {
	taken := p.Cluster.Taken.UTC().Format("2006-01-02 15:04:05 UTC")
	switch {
	case p.Cluster.NotNeeded:
		b.WriteString("No cluster needed: the runbook neither reads nor changes one.\n\n")
	case p.Cluster.Source == planner.SourceInventory:
		fmt.Fprintf(b, "Planned against the inventory file %s (not the live cluster), read at %s.\n\n", mdCode(p.Cluster.Inventory), taken)
	case p.Cluster.Source == planner.SourceLive:
		fmt.Fprintf(b, "Planned against the live cluster, read at %s.\n\n", taken)
	case p.Cluster.Nomad == nil && p.Cluster.Consul == nil:
		b.WriteString("No cluster was read.\n\n")
	default:
		// A plan made before the source was recorded.
		fmt.Fprintf(b, "Cluster read at %s.\n\n", taken)
	}
}

// writeVariablesMarkdown lists the input variables the plan was made
// with. A sensitive variable's value is never in the plan; it shows as
// (sensitive).
func writeVariablesMarkdown(b *strings.Builder, p *planner.Plan) {
	if len(p.Variables) == 0 {
		return
	}
	b.WriteString("| Variable | Value |\n|---|---|\n")
	for _, v := range p.Variables {
		value := mdCell(mdCode(v.Value))
		if v.Sensitive {
			value = "(sensitive)"
		}
		fmt.Fprintf(b, "| %s | %s |\n", mdCell(mdCode(v.Name)), value)
	}
	b.WriteString("\n")
}

// PlanMarkdownFailed prints the Markdown of a plan that could not be
// made: the same marker and title as PlanMarkdown, so a CI job updates
// the same comment, and the diagnostics as plain text in a fenced block.
// Without it, plan -markdown printed nothing on error and CI posted an
// empty comment.
func PlanMarkdownFailed(w io.Writer, name string, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	var text strings.Builder
	if err := Diagnostics(&text, diags, files, DiagnosticsOptions{Width: DiagnosticWidth}); err != nil {
		return err
	}
	errs, warns := Count(diags)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n### nrun plan: %s\n\n", MarkdownMarker(name), mdCode(name))
	fmt.Fprintf(&b, "**Plan failed: %s, %s.**\n\n", plural(errs, "error"), plural(warns, "warning"))
	body := strings.TrimRight(text.String(), "\n")
	fence := mdFence(body)
	fmt.Fprintf(&b, "%stext\n%s\n%s\n", fence, body, fence)
	_, err := io.WriteString(w, b.String())
	return err
}

// mdFence is a code fence longer than any run of backticks in s, so s
// cannot close it.
func mdFence(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

// mdCode is s as a Markdown code span: delimited by more backticks than
// s holds in a row, and padded when s starts or ends with one.
func mdCode(s string) string {
	n := longestRun(s, '`')
	if n == 0 {
		return "`" + s + "`"
	}
	d := strings.Repeat("`", n+1)
	return d + " " + s + " " + d
}

func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

func mdEscape(s string) string {
	r := strings.NewReplacer("<", "&lt;", ">", "&gt;", "|", "\\|", "\n", " ")
	return r.Replace(s)
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// writeIdentities says which tokens the preflight checked the plan's
// capabilities against: accessor and policies, never the secret.
func writeIdentities(b *strings.Builder, ids []planner.Identity) {
	if len(ids) == 0 {
		return
	}
	for _, id := range ids {
		noun := strings.ToUpper(id.System[:1]) + id.System[1:]
		switch {
		case id.ACLDisabled:
			fmt.Fprintf(b, "%s ACLs are disabled: no token checked.\n", noun)
			continue
		case id.Management:
			fmt.Fprintf(b, "%s token checked: accessor %s, management", noun, id.AccessorID)
		case len(id.Policies) == 0:
			fmt.Fprintf(b, "%s token checked: accessor %s, no policies", noun, id.AccessorID)
		default:
			fmt.Fprintf(b, "%s token checked: accessor %s, policies %s", noun, id.AccessorID, strings.Join(id.Policies, ", "))
		}
		if id.ExpirationTime != nil {
			fmt.Fprintf(b, "; expires %s", id.ExpirationTime.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		b.WriteString(".\n")
	}
	b.WriteString("\n")
}
