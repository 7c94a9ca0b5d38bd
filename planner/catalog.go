package planner

import "github.com/nrun-dev/nrun/lang"

// actionPreview is what the plan previews of an action type, from its catalog
// entry; an unknown type (refused by validate) previews nothing.
func actionPreview(typ string) lang.Preview {
	if spec := lang.ActionSpecs[typ]; spec != nil {
		return spec.Preview
	}
	return lang.PreviewNone
}

// remedyOf is what a failing precondition of the named check may do to
// make itself hold, from its catalog entry.
func remedyOf(name string) lang.Remedy {
	if spec := lang.CheckSpecs[name]; spec != nil {
		return spec.Remedy
	}
	return lang.RemedyNone
}
