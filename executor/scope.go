package executor

import (
	"fmt"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// The run's scope is the plan's (planner.Plan.Scope) or, without one, one
// built by planner.NewScope from a fresh view (buildScope): the data
// sources are filled by the planner's one mapping, never here.

// eachOf rebuilds each of a planned instance from its cty JSON.
func eachOf(in *planner.Instance) (*lang.Each, error) {
	if in.Each == nil {
		if in.Addr.Key.Valid {
			k := cty.StringVal(in.Addr.Key.Value)
			return &lang.Each{Key: k, Value: k}, nil
		}
		return nil, nil
	}
	ty, err := ctyjson.UnmarshalType(in.Each.Type)
	if err != nil {
		return nil, fmt.Errorf("%s: each.value type: %w", in.Addr, err)
	}
	v, err := ctyjson.Unmarshal(in.Each.Value, ty)
	if err != nil {
		return nil, fmt.Errorf("%s: each.value: %w", in.Addr, err)
	}
	return &lang.Each{Key: cty.StringVal(in.Addr.Key.Value), Value: v}, nil
}
