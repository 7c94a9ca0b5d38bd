package lang

import (
	"fmt"

	goversion "github.com/hashicorp/go-version"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// versionCompareFunc is version_compare(a, b): -1, 0 or 1 as a is older
// than, the same as, or newer than b by semantic version order
// (github.com/hashicorp/go-version, the order Nomad and Consul use: a
// leading "v" is ignored, "1.10.0" is newer than "1.9.4", a pre-release
// such as "1.10.0-beta.1" is older than "1.10.0"). String comparison gets
// "1.10.0" < "1.9.4" wrong, which is why the function exists.
var versionCompareFunc = function.New(&function.Spec{
	Params: []function.Parameter{
		{Name: "a", Type: cty.String},
		{Name: "b", Type: cty.String},
	},
	Type: function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		a, err := ParseVersion(args[0].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgError(0, err)
		}
		b, err := ParseVersion(args[1].AsString())
		if err != nil {
			return cty.NilVal, function.NewArgError(1, err)
		}
		return cty.NumberIntVal(int64(a.Compare(b))), nil
	},
})

// ParseVersion parses a semantic version the way version_compare and
// servers_version's min do, so the language and the checks agree on the
// order.
func ParseVersion(s string) (*goversion.Version, error) {
	v, err := goversion.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a version such as \"1.10.0\"", s)
	}
	return v, nil
}
