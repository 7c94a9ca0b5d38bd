package lang

import "github.com/zclconf/go-cty/cty"

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
