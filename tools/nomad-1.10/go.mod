module github.com/nrun-dev/nrun/tools/nomad-1.10

go 1.26

tool github.com/hashicorp/nomad

require (
	github.com/hashicorp/nomad v1.10.0
	github.com/hashicorp/nomad/api v0.0.0-20260907080526-08ef8f3d26da
)

replace github.com/hashicorp/hcl => github.com/hashicorp/hcl v1.0.1-0.20201016140508-a07e7d50bbee

replace github.com/Microsoft/go-winio => github.com/endocrimes/go-winio v0.4.13-0.20190628114223-fb47a8b41948
