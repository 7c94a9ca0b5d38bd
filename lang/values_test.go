package lang

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

func TestObjectTypesDistinct(t *testing.T) {
	types := map[string]cty.Type{"server": ServerType, "node": NodeType, "consul": ConsulServerType}
	for from, ft := range types {
		for to, tt := range types {
			if from == to {
				continue
			}
			if _, err := convert.Convert(cty.UnknownVal(ft), tt); err == nil {
				t.Errorf("%s converts to %s", from, to)
			}
		}
		if TargetKindOf(ft) == TargetNone {
			t.Errorf("TargetKindOf(%s) = none", from)
		}
	}
	for _, dt := range DataSourceTypes {
		if DataSourceValueType(dt) == cty.DynamicPseudoType {
			t.Errorf("no value type for %s", dt)
		}
	}
	if !DataSourceValueType(DataConsulServers).AttributeType("leader").Equals(ConsulServerType) {
		t.Error("consul_servers.leader is not a Consul server")
	}
}
