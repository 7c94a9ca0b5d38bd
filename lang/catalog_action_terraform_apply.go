package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// ActionTerraformApply is the catalog name of action "terraform_apply".
const ActionTerraformApply = "terraform_apply"

func init() {
	addAction(ActionTerraformApply, &ActionSpec{
		Doc:    "Runs terraform apply in a declared terraform directory. creates and destroys tell the safety analysis what the apply does to the cluster.",
		Effect: EffectCreate,
		Attrs: []AttrSpec{
			{Name: "terraform", Type: cty.DynamicPseudoType, Required: true, Objects: []cty.Type{TerraformType}, Doc: "The directory: terraform.NAME or the name of a terraform block."},
			{Name: "vars", Type: cty.DynamicPseudoType, Doc: "Terraform input variables (-var), a map or object of any values.", check: checkMapOrObject},
			{Name: "creates", Type: CreatesType, Doc: "How many members the apply adds: { nomad_servers = N, nomad_clients = N, consul_servers = N }.", check: checkCreates},
			{Name: "destroys", Type: cty.DynamicPseudoType, Doc: "The members the apply removes: a map, set, list or object of server/node objects or names, e.g. data.nomad_servers.blue.by_name.", check: checkDestroys},
		},
		// Its effect is create; one that declares destroys removes members
		// and says destroy.
		EffectOf: func(args map[string]*hcl.Attribute) Effect {
			if args["destroys"] != nil {
				return EffectDestroy
			}
			return EffectCreate
		},
		Cluster: ClusterNone,
		Reads:   nil,
		Writes:  nil,
		Probe:   ProbeTerraformPlan,
		Preview: PreviewTerraform,
	})
}
