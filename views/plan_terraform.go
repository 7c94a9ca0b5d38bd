package views

import (
	"fmt"
	"strings"

	"github.com/nrun-dev/nrun/planner"
)

// maxTerraformChanges caps the resource changes listed per instance; the
// counts always cover them all, and plan -json lists every one.
const maxTerraformChanges = 100

// terraformGlyph is a resource or output change's sign as `terraform
// plan` prints it.
func terraformGlyph(action string) string {
	switch action {
	case "create":
		return "+"
	case "delete":
		return "-"
	case "update":
		return "~"
	case "replace":
		return "-/+"
	}
	return "<="
}

func (c palette) terraformGlyph(action string) string {
	g := terraformGlyph(action)
	code := ""
	switch action {
	case "create":
		code = c.green
	case "delete", "replace":
		code = c.red
	case "update":
		code = c.yellow
	}
	if code == "" {
		return g
	}
	return code + g + c.reset
}

// terraformHeadline is the one line that says what Terraform would do, or
// why the plan cannot say.
func terraformHeadline(t *planner.TerraformPreview) string {
	switch t.Status {
	case planner.TerraformPlanned:
		return fmt.Sprintf("terraform plan in %s: %s", t.Dir, t.SummaryLine())
	case planner.TerraformDeferred:
		return "terraform plan: known after apply: " + t.Reason
	case planner.TerraformOffline:
		return "terraform plan: not run: " + t.Reason
	case planner.TerraformFailed:
		where := ""
		if t.Dir != "" {
			where = " in " + t.Dir
		}
		return fmt.Sprintf("terraform plan%s failed: %s", where, t.Reason)
	}
	return "terraform plan: " + string(t.Status)
}

// writeTerraformPreview prints a terraform_apply's Terraform plan under
// its arguments: the summary line, one line per resource change and the
// outputs that would change (names only; values are never in the plan).
func writeTerraformPreview(b *strings.Builder, pad string, t *planner.TerraformPreview, c palette) {
	if t == nil {
		return
	}
	fmt.Fprintf(b, "%s%s\n", pad, terraformHeadline(t))
	if t.Status != planner.TerraformPlanned {
		return
	}
	shown := t.Changes
	if len(shown) > maxTerraformChanges {
		shown = shown[:maxTerraformChanges]
	}
	for _, ch := range shown {
		fmt.Fprintf(b, "%s  %s %s\n", pad, c.terraformGlyph(ch.Action), ch.Address)
	}
	if more := len(t.Changes) - len(shown); more > 0 {
		fmt.Fprintf(b, "%s  ... and %d more; plan -json lists them all\n", pad, more)
	}
	if len(t.Outputs) > 0 {
		parts := make([]string, len(t.Outputs))
		for i, o := range t.Outputs {
			parts[i] = c.terraformGlyph(o.Action) + " " + o.Name
			if o.Sensitive {
				parts[i] += " (sensitive)"
			}
		}
		fmt.Fprintf(b, "%s  outputs: %s\n", pad, strings.Join(parts, ", "))
	}
}

// writeTerraformMarkdown lists every terraform_apply's summary line near
// the top of a pull request comment; the changes themselves are in the
// Details section.
func writeTerraformMarkdown(b *strings.Builder, p *planner.Plan) {
	var lines []string
	for _, in := range p.Instances {
		if in.Action == nil || in.Action.Terraform == nil {
			continue
		}
		lines = append(lines, fmt.Sprintf("- `%s`: %s\n", mdCell(in.Addr.String()), mdEscape(terraformHeadline(in.Action.Terraform))))
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("**Terraform:**\n\n")
	for _, l := range lines {
		b.WriteString(l)
	}
	b.WriteString("\n")
}
