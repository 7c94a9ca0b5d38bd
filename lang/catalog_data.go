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
