// Package executortest holds runbooks that tests of the executor and of
// the packages around it (backend, operation) share.
//
// Input: nothing; output: runbook sources. Consumers: the benchmarks and
// tests of executor and backend.
package executortest
