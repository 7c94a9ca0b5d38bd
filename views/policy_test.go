package views

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/nrun-dev/nrun/acl"
	"github.com/nrun-dev/nrun/lang"
)

// TestPolicyViews renders the policy of two example runbooks, one with
// Nomad and Consul and management steps, one Nomad only without.
func TestPolicyViews(t *testing.T) {
	for name, file := range map[string]string{
		"drain_node_pool": "drain-node-pool.nrun.hcl",
		"rolling_upgrade": "nomad-server-rolling-upgrade.nrun.hcl",
		"blue_green":      "blue-green-image-migration.nrun.hcl",
	} {
		t.Run(name, func(t *testing.T) {
			rb, diags := lang.Load(filepath.Join("..", "runbooks", file))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			p := acl.PolicyOf(rb)
			var text, js bytes.Buffer
			if err := PolicyText(&text, rb.Meta.Name, p, ""); err != nil {
				t.Fatal(err)
			}
			if err := PolicyJSON(&js, rb.Meta.Name, p); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("policy", name+".txt"), text.Bytes())
			checkGolden(t, filepath.Join("policy", name+".json"), js.Bytes())
		})
	}
	var empty bytes.Buffer
	if err := PolicyText(&empty, "local", &acl.Policy{}, ""); err != nil || !bytes.Contains(empty.Bytes(), []byte("needs no ACL policy")) {
		t.Errorf("empty policy: %q, %v", empty.String(), err)
	}
}
