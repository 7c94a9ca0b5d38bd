// Package acl is what a runbook asks of the clusters' ACL systems: the
// capabilities each of its parts needs, the smallest Nomad and Consul
// policies that grant them, and whether a token grants them.
//
// Input: a loaded runbook (lang.Runbook) and the catalog's capabilities
// (lang.Capability on every action, check and data source); for a check
// of a token, the token's identity and its policies' rules as the cluster
// answers them (TokenInfo).
// Output: Needs (who needs which capability), Policy (per API, the merged
// rules with the parts that need each, and the parts that need a
// management token) with its HCL, and Missing (the needs a token does not
// grant).
//
// Consumers: cmd/nrun (policy), operation (the preflight of plan and
// apply), views (printing a Policy).
//
// Use it to reason about ACLs without a cluster; it reads nothing from a
// cluster itself (operation does, and hands the answers in). Do not use it
// to decide what a step does: that is the catalog's.
package acl
