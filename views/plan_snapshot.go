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
