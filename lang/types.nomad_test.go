package lang

import "testing"

func TestDecodeNomadAndConsul(t *testing.T) {
	rb := mustParse(t, `
variable "addr" {
  default = "http://127.0.0.1:4646"
}
nomad {
  address         = var.addr
  region          = "global"
  namespace       = "ops"
  tls_skip_verify = true
}
consul {
  address    = "127.0.0.1:8500"
  datacenter = "dc1"
}
`)
	if rb.Nomad == nil || rb.Nomad.Address == nil || rb.Nomad.Region == nil || rb.Nomad.Namespace == nil || rb.Nomad.TLSSkipVerify == nil {
		t.Fatalf("nomad = %+v", rb.Nomad)
	}
	if rb.Nomad.CACert != nil {
		t.Error("unset arguments must stay nil so the environment fills them")
	}
	if rb.Consul == nil || rb.Consul.Address == nil || rb.Consul.Datacenter == nil || rb.Consul.Scheme != nil {
		t.Fatalf("consul = %+v", rb.Consul)
	}
	if diags := Validate(rb, nil); len(diags) != 0 {
		t.Fatal(diags.Error())
	}

	tests := map[string]string{
		"nomad secret_id":   `nomad { secret_id = "x" }`,
		"consul http_token": `consul { http_token = "x" }`,
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := Parse(map[string][]byte{"x.nrun.hcl": []byte(src)})
			if len(diags) != 1 || diags[0].Summary != "Token not allowed in runbook" {
				t.Fatalf("got %v", diags)
			}
		})
	}
}
