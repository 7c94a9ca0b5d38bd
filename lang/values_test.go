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

func TestExpandForEach(t *testing.T) {
	servers := cty.MapVal(map[string]cty.Value{"s2": server("s2", true), "s1": server("s1", false), "s3": server("s3", false)})
	tests := map[string]struct {
		in      cty.Value
		keys    []string
		wantErr bool
	}{
		"map sorted":     {in: servers, keys: []string{"s1", "s2", "s3"}},
		"set of strings": {in: cty.SetVal([]cty.Value{cty.StringVal("b"), cty.StringVal("a")}), keys: []string{"a", "b"}},
		"object":         {in: cty.ObjectVal(map[string]cty.Value{"y": cty.True, "x": cty.NumberIntVal(1)}), keys: []string{"x", "y"}},
		"empty map":      {in: cty.MapValEmpty(cty.String), keys: nil},
		"unknown":        {in: cty.UnknownVal(cty.Map(cty.String)), wantErr: true},
		"null":           {in: cty.NullVal(cty.Map(cty.String)), wantErr: true},
		"list":           {in: cty.ListVal([]cty.Value{cty.StringVal("a")}), wantErr: true},
		"set of numbers": {in: cty.SetVal([]cty.Value{cty.NumberIntVal(1)}), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ExpandForEach(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			var keys []string
			for _, e := range got {
				keys = append(keys, e.Key.AsString())
			}
			if len(keys) != len(tc.keys) {
				t.Fatalf("keys = %v, want %v", keys, tc.keys)
			}
			for i := range keys {
				if keys[i] != tc.keys[i] {
					t.Errorf("keys = %v, want %v", keys, tc.keys)
				}
			}
		})
	}
	all, _ := ExpandForEach(servers)
	var order []string
	for _, e := range LeaderLast(all) {
		order = append(order, e.Key.AsString())
	}
	if len(order) != 3 || order[0] != "s1" || order[1] != "s3" || order[2] != "s2" {
		t.Errorf("leader_last order = %v", order)
	}
}
