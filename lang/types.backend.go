package lang

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Backend is the optional `backend "TYPE" { path = "..." }` block: where
// the runbook's lock and runs live (package backend). -backend on the
// command line wins over it.
type Backend struct {
	// Type is local, consul or nomad.
	Type string
	// Path is the key prefix or variable path; "" means nrun/<runbook name>.
	Path      string
	DeclRange hcl.Range
}

// BackendTypes are the backend block's labels.
var BackendTypes = []string{"local", "consul", "nomad"}

var backendSchema = bodySchema{Attrs: []attrSchema{{Name: "path"}}}

var backendPathRE = regexp.MustCompile(`^[a-zA-Z0-9_~/-]{1,100}$`)

// decodeBackend decodes the optional backend block. Its path is a literal:
// the lock must be found before any input is read.
func decodeBackend(b *hclsyntax.Block) (*Backend, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, nil
	}
	be := &Backend{Type: b.Labels[0], DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), backendSchema, "the backend block", be.DeclRange)
	known := false
	for _, t := range BackendTypes {
		known = known || t == be.Type
	}
	if !known {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown backend",
			Detail:   fmt.Sprintf("There is no backend %q. Use one of: %s.", be.Type, strings.Join(BackendTypes, ", ")),
			Subject:  b.LabelRanges[0].Ptr(),
			Context:  be.DeclRange.Ptr(),
		})
	}
	if a := c.Attrs["path"]; a != nil {
		p, ok, d := staticString(a, "path")
		diags = append(diags, d...)
		if ok {
			if !backendPathRE.MatchString(strings.Trim(p, "/")) {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid backend path",
					Detail:   fmt.Sprintf("The path %q must be 1 to 100 letters, digits and - _ ~ / (what Nomad variable paths allow), for example \"nrun/my-runbook\".", p),
					Subject:  a.Expr.Range().Ptr(),
				})
			} else if be.Type == "local" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Path on the local backend",
					Detail:   "The local backend is the state directory (-state-dir); it takes no path. Remove path, or use backend \"consul\" or \"nomad\".",
					Subject:  a.NameRange.Ptr(),
				})
			} else {
				be.Path = strings.Trim(p, "/")
			}
		}
	}
	return be, diags
}
