package views

import (
	"fmt"
	"strings"

	"github.com/nrun-dev/nrun/planner"
)

// writeSnapshotPreview prints what a snapshot restore rolls the cluster
// back to, as read at plan.
func writeSnapshotPreview(b *strings.Builder, pad string, s *planner.SnapshotPreview, c palette) {
	if s == nil {
		return
	}
	if s.Unavailable != "" {
		fmt.Fprintf(b, "%s%ssnapshot not read at plan:%s %s\n", pad, c.dim, c.reset, s.Unavailable)
		return
	}
	fmt.Fprintf(b, "%s%srestores the state at Raft index %d (term %d)%s from %s, %d bytes; everything written since is lost\n", pad, c.red, s.Index, s.Term, c.reset, s.Path, s.Size)
}

// writeSnapshotPreviewsMarkdown lists what each snapshot restore rolls the
// cluster back to, for the reviewer of a plan in a pull request.
func writeSnapshotPreviewsMarkdown(b *strings.Builder, p *planner.Plan) {
	first := true
	for _, in := range p.Instances {
		if in.Action == nil || in.Action.Snapshot == nil {
			continue
		}
		s := in.Action.Snapshot
		if first {
			b.WriteString("**Snapshot restores** (everything written since the snapshot is lost):\n\n")
			first = false
		}
		if s.Unavailable != "" {
			fmt.Fprintf(b, "- `%s`: snapshot not read at plan: %s\n", in.Addr.String(), mdEscape(s.Unavailable))
			continue
		}
		fmt.Fprintf(b, "- `%s`: the state at Raft index %d (term %d), from `%s`, %d bytes\n", in.Addr.String(), s.Index, s.Term, s.Path, s.Size)
	}
	if !first {
		b.WriteString("\n")
	}
}
