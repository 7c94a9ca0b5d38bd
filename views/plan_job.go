package views

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nrun-dev/nrun/planner"
)

// This file renders the job previews of nomad_job_run (ActionPlan.Job):
// under the instance in the human form and the Markdown details, and as a
// diff block of its own near the top of the Markdown form, where a
// reviewer looks first.

// writeJobPreview prints a job preview under an instance's arguments:
//
//	job web (namespace default, JobModifyIndex 42 at plan time): Edited
//	  +/- Job: "web"
//	  ...
func writeJobPreview(b *strings.Builder, pad string, j *planner.JobPreview, c palette) {
	if j == nil {
		return
	}
	if j.Unavailable != "" {
		fmt.Fprintf(b, "%s%sjob diff not available:%s %s\n", pad, c.dim, c.reset, j.Unavailable)
		return
	}
	fmt.Fprintf(b, "%sjob %s (%s): %s\n", pad, j.JobID, jobState(j), diffWord(j.DiffType))
	for _, line := range strings.Split(strings.TrimRight(j.Diff, "\n"), "\n") {
		if line == "" {
			continue
		}
		fmt.Fprintf(b, "%s  %s\n", pad, c.diffLine(line))
	}
	for _, f := range j.FailedPlacements {
		fmt.Fprintf(b, "%s  %sfailed placement:%s %s\n", pad, c.red, c.reset, f)
	}
	for _, w := range warningLines(j.Warnings) {
		fmt.Fprintf(b, "%s  %swarning:%s %s\n", pad, c.yellow, c.reset, w)
	}
}

// warningLines splits Nomad's warnings text ("1 warning:\n\n* ...") into
// one line per warning.
func warningLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || (strings.HasSuffix(l, "warning:") || strings.HasSuffix(l, "warnings:")) && !strings.HasPrefix(l, "*") {
			continue
		}
		out = append(out, strings.TrimSpace(strings.TrimPrefix(l, "*")))
	}
	return out
}

func jobState(j *planner.JobPreview) string {
	ns := j.Namespace
	if ns == "" {
		ns = "default"
	}
	if j.JobModifyIndex == 0 {
		return "namespace " + ns + ", new: apply registers it only if it still does not exist"
	}
	return fmt.Sprintf("namespace %s, JobModifyIndex %d at plan time: apply registers it only if unchanged", ns, j.JobModifyIndex)
}

func diffWord(t string) string {
	switch t {
	case "Added":
		return "new job"
	case "Edited":
		return "changes"
	case "None", "":
		return "no changes (already running as planned)"
	}
	return strings.ToLower(t)
}

// diffLine colours one line of a job diff by its leading glyph.
func (c palette) diffLine(line string) string {
	t := strings.TrimLeft(line, " ")
	switch {
	case strings.HasPrefix(t, "+/-"):
		return c.yellow + line + c.reset
	case strings.HasPrefix(t, "+"):
		return c.green + line + c.reset
	case strings.HasPrefix(t, "-"):
		return c.red + line + c.reset
	}
	return line
}

// writeJobPreviewsMarkdown prints every job preview as a diff block.
func writeJobPreviewsMarkdown(b *strings.Builder, p *planner.Plan) {
	first := true
	for _, in := range p.Instances {
		if in.Action == nil || in.Action.Job == nil {
			continue
		}
		j := in.Action.Job
		if first {
			b.WriteString("**Job changes:**\n\n")
			first = false
		}
		if j.Unavailable != "" {
			fmt.Fprintf(b, "- `%s`: job diff not available: %s\n\n", in.Addr.String(), mdEscape(j.Unavailable))
			continue
		}
		fmt.Fprintf(b, "- `%s`: job `%s` (%s): %s", in.Addr.String(), j.JobID, mdEscape(jobState(j)), diffWord(j.DiffType))
		if len(j.Groups) > 0 {
			names := make([]string, 0, len(j.Groups))
			for n := range j.Groups {
				names = append(names, n)
			}
			sort.Strings(names)
			var parts []string
			for _, n := range names {
				if s := j.Groups[n].String(); s != "" {
					parts = append(parts, fmt.Sprintf("`%s`: %s", n, s))
				}
			}
			if len(parts) > 0 {
				b.WriteString("; scheduler: " + strings.Join(parts, ", "))
			}
		}
		b.WriteString("\n")
		for _, f := range j.FailedPlacements {
			fmt.Fprintf(b, "  - **failed placement**: %s\n", mdEscape(f))
		}
		for _, w := range warningLines(j.Warnings) {
			fmt.Fprintf(b, "  - **warning**: %s\n", mdEscape(w))
		}
		if d := strings.TrimRight(j.Diff, "\n"); d != "" {
			// A diff fence marks + and - lines; ``` inside a job diff
			// would end the block early.
			fmt.Fprintf(b, "\n```diff\n%s\n```\n", strings.ReplaceAll(d, "```", "'''"))
		}
		b.WriteString("\n")
	}
}
