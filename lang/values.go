package lang

import (
	"fmt"
	"sort"

	"github.com/zclconf/go-cty/cty"
)

// ServerType is the object type of one Nomad server, as found in
// data.nomad_servers.NAME.by_name, .leader and .followers. Its attribute set
// differs from NodeType and ConsulServerType, so a value of one kind never
// converts to another: passing a server where a node is expected is a type
// error that Validate reports.
var ServerType = cty.Object(map[string]cty.Type{
	"id":            cty.String,
	"name":          cty.String,
	"address":       cty.String, // RPC address, host:port
	"host":          cty.String, // host part of address, for ssh and the like
	"leader":        cty.Bool,
	"voter":         cty.Bool,
	"version":       cty.String,
	"raft_protocol": cty.String,
	"status":        cty.String, // serf status: alive, failed, left
})

// ConsulServerType is the object type of one Consul server. It has
// datacenter where a Nomad server has raft_protocol.
var ConsulServerType = cty.Object(map[string]cty.Type{
	"id":         cty.String,
	"name":       cty.String,
	"address":    cty.String,
	"host":       cty.String,
	"leader":     cty.Bool,
	"voter":      cty.Bool,
	"version":    cty.String,
	"status":     cty.String,
	"datacenter": cty.String,
})

// NodeType is the object type of one Nomad client node.
var NodeType = cty.Object(map[string]cty.Type{
	"id":          cty.String,
	"name":        cty.String,
	"address":     cty.String, // HTTP address of the client agent
	"host":        cty.String, // address without the port
	"datacenter":  cty.String,
	"node_pool":   cty.String,
	"node_class":  cty.String,
	"meta":        cty.Map(cty.String),
	"status":      cty.String, // ready, down, initializing, disconnected
	"eligibility": cty.String, // eligible, ineligible
	"drain":       cty.Bool,
	"version":     cty.String,
})

// TerraformType is the type of terraform.NAME: the working directory and,
// after the step that applies it has run, its outputs.
var TerraformType = cty.Object(map[string]cty.Type{
	"dir":     cty.String,
	"outputs": cty.DynamicPseudoType,
})

// StepValueType is the type of step.NAME. output is whatever the step's
// action produced (exec: its stdout as a string); unknown until it ran.
var StepValueType = cty.Object(map[string]cty.Type{
	"output": cty.DynamicPseudoType,
})

func serversValueType(server cty.Type) cty.Type {
	return cty.Object(map[string]cty.Type{
		"by_name":   cty.Map(server),
		"leader":    server,
		"followers": cty.Map(server),
		"names":     cty.List(cty.String),
	})
}

var (
	nomadServersType  = serversValueType(ServerType)
	consulServersType = serversValueType(ConsulServerType)
	nomadNodesType    = cty.Object(map[string]cty.Type{
		"by_name": cty.Map(NodeType),
		"by_id":   cty.Map(NodeType),
		"names":   cty.List(cty.String),
	})
)

// DataSourceValueType returns the type of data.T.NAME for data source type
// t, or cty.DynamicPseudoType for an unknown type.
//
//	nomad_servers:  object{by_name=map(Server), leader=Server, followers=map(Server), names=list(string)}
//	consul_servers: the same with ConsulServerType
//	nomad_nodes:    object{by_name=map(Node), by_id=map(Node), names=list(string)}
func DataSourceValueType(t DataSourceType) cty.Type {
	switch t {
	case DataNomadServers:
		return nomadServersType
	case DataConsulServers:
		return consulServersType
	case DataNomadNodes:
		return nomadNodesType
	}
	return cty.DynamicPseudoType
}

// targetObjectType returns the object type of a target kind, or NilType.
func targetObjectType(k TargetKind) cty.Type {
	switch k {
	case TargetNomadServer:
		return ServerType
	case TargetNomadNode:
		return NodeType
	case TargetConsulServer:
		return ConsulServerType
	}
	return cty.NilType
}

// TargetKindOf returns the target kind whose object type is t, or
// TargetNone when t is not one of ServerType, NodeType, ConsulServerType.
func TargetKindOf(t cty.Type) TargetKind {
	switch {
	case t.Equals(ServerType):
		return TargetNomadServer
	case t.Equals(NodeType):
		return TargetNomadNode
	case t.Equals(ConsulServerType):
		return TargetConsulServer
	}
	return TargetNone
}

// ServersValue builds the value of a nomad_servers (elem ServerType) or
// consul_servers (elem ConsulServerType) data source from its members,
// which must be known objects of type elem with a known name. With no
// leader among them, leader is null.
func ServersValue(elem cty.Type, servers []cty.Value) cty.Value {
	byName := map[string]cty.Value{}
	followers := map[string]cty.Value{}
	leader := cty.NullVal(elem)
	for _, s := range servers {
		name := s.GetAttr("name").AsString()
		byName[name] = s
		if l := s.GetAttr("leader"); l.IsKnown() && !l.IsNull() && l.True() {
			leader = s
		} else {
			followers[name] = s
		}
	}
	return cty.ObjectVal(map[string]cty.Value{
		"by_name":   mapOrEmpty(elem, byName),
		"leader":    leader,
		"followers": mapOrEmpty(elem, followers),
		"names":     namesList(byName),
	})
}

// NodesValue builds the value of a nomad_nodes data source from its
// members, known NodeType objects with known name and id.
func NodesValue(nodes []cty.Value) cty.Value {
	byName := map[string]cty.Value{}
	byID := map[string]cty.Value{}
	for _, n := range nodes {
		byName[n.GetAttr("name").AsString()] = n
		byID[n.GetAttr("id").AsString()] = n
	}
	return cty.ObjectVal(map[string]cty.Value{
		"by_name": mapOrEmpty(NodeType, byName),
		"by_id":   mapOrEmpty(NodeType, byID),
		"names":   namesList(byName),
	})
}

func mapOrEmpty(elem cty.Type, m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(elem)
	}
	return cty.MapVal(m)
}

func namesList(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	names := make([]cty.Value, 0, len(m))
	for _, n := range sortedKeys(m) {
		names = append(names, cty.StringVal(n))
	}
	return cty.ListVal(names)
}

// ExpandForEach turns a known for_each value into its instances, sorted
// by key (the default order): a map or object gives one instance per key,
// a set of strings one per string (key and value are the string). It is
// an error when the value, a key or a set element is unknown or null, or
// when the type is not one for_each accepts (Validate reports those with
// source ranges; this is the plan-time guard).
func ExpandForEach(v cty.Value) ([]Each, error) {
	if !v.IsKnown() {
		return nil, fmt.Errorf("the for_each value is not known yet")
	}
	if v.IsNull() {
		return nil, fmt.Errorf("the for_each value is null")
	}
	t := v.Type()
	var out []Each
	switch {
	case t.IsMapType() || t.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			out = append(out, Each{Key: k, Value: ev})
		}
	case t.IsSetType():
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			if !ev.IsKnown() || ev.IsNull() || !ev.Type().Equals(cty.String) {
				return nil, fmt.Errorf("for_each over a set needs known, non-null strings")
			}
			out = append(out, Each{Key: ev, Value: ev})
		}
	default:
		return nil, fmt.Errorf("for_each needs a map, a set of strings or an object, not a %s", t.FriendlyName())
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key.AsString() < out[j].Key.AsString() })
	return out, nil
}

// LeaderLast moves the instance whose each.value is the leader (a server
// object with leader = true) to the end, keeping the others in order. It
// implements order = "leader_last".
func LeaderLast(instances []Each) []Each {
	out := make([]Each, 0, len(instances))
	var leaders []Each
	for _, e := range instances {
		if isLeader(e.Value) {
			leaders = append(leaders, e)
			continue
		}
		out = append(out, e)
	}
	return append(out, leaders...)
}

func isLeader(v cty.Value) bool {
	if !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute("leader") {
		return false
	}
	l := v.GetAttr("leader")
	return l.IsKnown() && !l.IsNull() && l.Type().Equals(cty.Bool) && l.True()
}
