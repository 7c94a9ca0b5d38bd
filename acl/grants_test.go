package acl

import (
	"testing"

	"github.com/nrun-dev/nrun/lang"
)

func TestCheck(t *testing.T) {
	need := func(api lang.API, rule string) Need {
		return Need{Who: "step.x", What: "action", Cap: lang.Capability{API: api, Rule: rule}}
	}
	cases := map[string]struct {
		api     lang.API
		rules   map[string]string
		mgmt    bool
		need    Need
		missing string // Has, "" when granted
	}{
		"node write granted":       {lang.APINomad, map[string]string{"p": `node { policy = "write" }`}, false, need(lang.APINomad, "node:read"), ""},
		"node read only":           {lang.APINomad, map[string]string{"p": `node { policy = "read" }`}, false, need(lang.APINomad, "node:write"), "node read"},
		"deny wins":                {lang.APINomad, map[string]string{"a": `node { policy = "write" }`, "b": `node { policy = "deny" }`}, false, need(lang.APINomad, "node:read"), "node deny"},
		"nothing":                  {lang.APINomad, map[string]string{}, false, need(lang.APINomad, "operator:read"), "operator nothing"},
		"namespace write":          {lang.APINomad, map[string]string{"p": `namespace "default" { policy = "write" }`}, false, need(lang.APINomad, "namespace:submit-job"), ""},
		"namespace glob":           {lang.APINomad, map[string]string{"p": `namespace "*" { capabilities = ["read-job"] }`}, false, need(lang.APINomad, "namespace:read-job"), ""},
		"exact beats glob":         {lang.APINomad, map[string]string{"p": "namespace \"*\" { capabilities = [\"read-job\"] }\nnamespace \"default\" { capabilities = [\"submit-job\"] }"}, false, need(lang.APINomad, "namespace:read-job"), `namespace "default" submit-job`},
		"all namespaces need star": {lang.APINomad, map[string]string{"p": `namespace "default" { policy = "read" }`}, false, need(lang.APINomad, "namespace:*:read-job"), `nothing in namespace "*"`},
		"management":               {lang.APINomad, nil, true, need(lang.APINomad, "management"), ""},
		"management needed":        {lang.APINomad, map[string]string{"p": `operator { policy = "write" }`}, false, need(lang.APINomad, "management"), "no management"},
		"consul prefix":            {lang.APIConsul, map[string]string{"p": "operator = \"read\"\nnode_prefix \"\" { policy = \"write\" }"}, false, need(lang.APIConsul, "node:write"), ""},
		"consul named node only":   {lang.APIConsul, map[string]string{"p": `node "c1" { policy = "write" }`}, false, need(lang.APIConsul, "node:write"), `node_prefix "" nothing`},
		"consul operator":          {lang.APIConsul, map[string]string{"p": `operator = "read"`}, false, need(lang.APIConsul, "operator:write"), "operator read"},
		"variables granted":        {lang.APINomad, map[string]string{"p": vars("default", "nrun/x/*", `"read", "write", "destroy"`)}, false, need(lang.APINomad, backendVars), ""},
		"variables glob namespace": {lang.APINomad, map[string]string{"p": vars("*", "nrun/*", `"list", "read", "write", "destroy"`)}, false, need(lang.APINomad, backendVars), ""},
		"variables no write":       {lang.APINomad, map[string]string{"p": vars("default", "nrun/x/*", `"read", "destroy"`)}, false, need(lang.APINomad, backendVars), `destroy, list, read on variables path "nrun/x/*" in namespace "default"`},
		"variables closest wins":   {lang.APINomad, map[string]string{"p": vars("default", "*", `"read", "write", "destroy"`) + vars("default", "nrun/x/l*", `"read"`)}, false, need(lang.APINomad, backendVars), `list, read on variables path "nrun/x/l*" in namespace "default"`},
		"variables other path":     {lang.APINomad, map[string]string{"p": vars("default", "nrun/y/*", `"read", "write", "destroy"`)}, false, need(lang.APINomad, backendVars), `nothing on the variable nrun/x/lock in namespace "default"`},
		"variables deny":           {lang.APINomad, map[string]string{"p": vars("default", "nrun/x/*", `"deny"`)}, false, need(lang.APINomad, backendVars), `deny on variables path "nrun/x/*" in namespace "default"`},
		"variables not by policy":  {lang.APINomad, map[string]string{"p": `namespace "default" { policy = "write" }`}, false, need(lang.APINomad, backendVars), `nothing on the variable nrun/x/lock in namespace "default"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g, diags := ParseRules(tc.api, tc.rules)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			g.Management = tc.mgmt
			miss := Check([]Need{tc.need}, g, "default")
			switch {
			case tc.missing == "" && len(miss) > 0:
				t.Errorf("missing %+v, want granted", miss)
			case tc.missing != "" && (len(miss) != 1 || miss[0].Has != tc.missing):
				t.Errorf("missing %+v, want Has %q", miss, tc.missing)
			}
		})
	}
}

const backendVars = "variables:nrun/x/*:read,list,write,destroy"

func vars(ns, path, caps string) string {
	return "namespace \"" + ns + "\" {\n  variables {\n    path \"" + path + "\" { capabilities = [" + caps + "] }\n  }\n}\n"
}

func TestAccess(t *testing.T) {
	for rule, want := range map[string][4]string{
		"node:write":               {"node", "", "write", "true"},
		"key_prefix:nrun/x/:write": {"key", "nrun/x/", "write", "true"},
		"session_prefix::write":    {"session", "", "write", "true"},
		"namespace:read-job":       {"", "", "", "false"},
		"variables:nrun/x/*:read":  {"", "", "", "false"},
		"management":               {"", "", "", "false"},
	} {
		res, seg, lvl, ok := Access(rule)
		if got := [4]string{res, seg, lvl, map[bool]string{true: "true", false: "false"}[ok]}; got != want {
			t.Errorf("Access(%q) = %q, want %q", rule, got, want)
		}
	}
}
