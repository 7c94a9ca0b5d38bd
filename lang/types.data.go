package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// DataFilterSpecs gives, per data source type, the filter arguments and
// their types. Every filter is optional; all given filters must match.
// name is a regular expression (RE2) matched against the member name.
var DataFilterSpecs = map[DataSourceType][]AttrSpec{
	DataNomadServers: {
		{Name: "name", Type: cty.String, Doc: "Regular expression the server name must match."},
		{Name: "status", Type: cty.String, Doc: "Serf status: alive, failed or left."},
	},
	DataConsulServers: {
		{Name: "name", Type: cty.String, Doc: "Regular expression the server name must match."},
		{Name: "status", Type: cty.String, Doc: "Serf status: alive, failed or left."},
		{Name: "datacenter", Type: cty.String, Doc: "Consul datacenter."},
	},
	DataNomadNodes: {
		{Name: "node_pool", Type: cty.String, Doc: "Node pool."},
		{Name: "datacenter", Type: cty.String, Doc: "Datacenter."},
		{Name: "node_class", Type: cty.String, Doc: "Node class."},
		{Name: "meta", Type: cty.Map(cty.String), Doc: "Every given key must be present in the node's meta with this value."},
		{Name: "name", Type: cty.String, Doc: "Regular expression the node name must match."},
		{Name: "status", Type: cty.String, Doc: "Node status: ready, down, initializing or disconnected."},
	},
}

// DataSourceTypes lists the data source types in documentation order.
var DataSourceTypes = []DataSourceType{DataNomadServers, DataNomadNodes, DataConsulServers}

// decodeDataSource decodes `data "TYPE" "NAME" { filters }`.
func decodeDataSource(b *hclsyntax.Block) (*DataSource, hcl.Diagnostics) {
	if len(b.Labels) != 2 {
		return nil, nil
	}
	var diags hcl.Diagnostics
	ds := &DataSource{
		Type:      DataSourceType(b.Labels[0]),
		Name:      b.Labels[1],
		Filters:   map[string]*hcl.Attribute{},
		DeclRange: blockDeclRange(b),
		TypeRange: b.LabelRanges[0],
	}
	specs, ok := DataFilterSpecs[ds.Type]
	if !ok {
		names := make([]string, len(DataSourceTypes))
		for i, t := range DataSourceTypes {
			names[i] = string(t)
		}
		return nil, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown data source type",
			Detail:   fmt.Sprintf("There is no data source type %q.%s The types are %s.", b.Labels[0], suggestion(b.Labels[0], names), quoteList(names)),
			Subject:  b.LabelRanges[0].Ptr(),
		})
	}
	schema := bodySchema{}
	for _, s := range specs {
		schema.Attrs = append(schema.Attrs, attrSchema{Name: s.Name})
	}
	c, d := decodeBody(hclsyntaxBody(b), schema, fmt.Sprintf("a %s data source", ds.Type), ds.DeclRange)
	diags = append(diags, d...)
	diags = append(diags, checkName(ds.Name, "data source", b.LabelRanges[1])...)
	ds.Filters = c.Attrs
	return ds, diags
}
