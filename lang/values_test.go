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

func server(name string, leader bool) cty.Value {
	attrs := map[string]cty.Value{}
	for n, t := range ServerType.AttributeTypes() {
		attrs[n] = cty.NullVal(t)
	}
	attrs["name"] = cty.StringVal(name)
	attrs["leader"] = cty.BoolVal(leader)
	return cty.ObjectVal(attrs)
}

func TestServersValue(t *testing.T) {
	v := ServersValue(ServerType, []cty.Value{server("s2", false), server("s1", true), server("s3", false)})
	if !v.Type().Equals(DataSourceValueType(DataNomadServers)) {
		t.Fatalf("type = %#v", v.Type())
	}
	if got := v.GetAttr("leader").GetAttr("name"); !got.RawEquals(cty.StringVal("s1")) {
		t.Errorf("leader = %#v", got)
	}
	if got := v.GetAttr("followers").LengthInt(); got != 2 {
		t.Errorf("followers = %d", got)
	}
	want := cty.ListVal([]cty.Value{cty.StringVal("s1"), cty.StringVal("s2"), cty.StringVal("s3")})
	if got := v.GetAttr("names"); !got.RawEquals(want) {
		t.Errorf("names = %#v", got)
	}
	empty := ServersValue(ConsulServerType, nil)
	if !empty.Type().Equals(DataSourceValueType(DataConsulServers)) || !empty.GetAttr("leader").IsNull() {
		t.Errorf("empty = %#v", empty)
	}
	if n := NodesValue(nil); !n.Type().Equals(DataSourceValueType(DataNomadNodes)) {
		t.Errorf("nodes type = %#v", n.Type())
	}
}
