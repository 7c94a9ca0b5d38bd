package lang

// The data sources' catalog facts: which cluster each reads. Their
// filters are in types.data.go (DataFilterSpecs); the planner and the
// executor read the cluster from here rather than comparing types.
var dataClusters = map[DataSourceType]Cluster{
	DataNomadServers:  ClusterNomadServers,
	DataNomadNodes:    ClusterNomadClients,
	DataConsulServers: ClusterConsulServers,
}

// Cluster is the part of the estate the data source reads, ClusterNone
// for an unknown type (refused by validate).
func (t DataSourceType) Cluster() Cluster { return dataClusters[t] }

// dataReads are the ACL capabilities each data source reads with: the
// servers' Raft view is autopilot health (operator:read; see Capability)
// joined with gossip members (Nomad: node:read); the nodes are the node
// list, each node and its allocations, which Nomad filters by read-job in
// their namespaces.
var dataReads = map[DataSourceType][]Capability{
	DataNomadServers:  nomadCap("operator:read", "node:read"),
	DataNomadNodes:    nomadCap("node:read", "namespace:*:read-job"),
	DataConsulServers: consulCap("operator:read", "node:read"),
}

// Reads are the ACL capabilities the data source reads with, nil for an
// unknown type.
func (t DataSourceType) Reads() []Capability { return dataReads[t] }
