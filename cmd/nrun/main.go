// Command nrun compiles, plans and applies HCL runbooks for Nomad and Consul
// clusters. See README.md and LANGUAGE.md.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], newStreams())) }
