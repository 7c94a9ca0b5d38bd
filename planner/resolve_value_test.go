package planner

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// appendJSON must write exactly what ctyjson.Marshal writes.
func TestAppendJSONMatchesCtyJSON(t *testing.T) {
	tests := map[string]cty.Value{
		"string":  cty.StringVal("a \"quoted\" <tag> & \\ \n\t\x01 é ✓ \u2028"),
		"number":  cty.NumberFloatVal(1.5),
		"integer": cty.NumberIntVal(-42),
		"bool":    cty.True,
		"null":    cty.NullVal(cty.String),
		"object": cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal("c1"), "drain": cty.False,
			"meta": cty.MapVal(map[string]cty.Value{"z": cty.StringVal("1"), "a": cty.StringVal("2")}),
			"list": cty.ListVal([]cty.Value{cty.StringVal("x"), cty.StringVal("y")}),
		}),
		"empty map": cty.MapValEmpty(cty.String),
		"set":       cty.SetVal([]cty.Value{cty.StringVal("b"), cty.StringVal("a")}),
		"tuple":     cty.TupleVal([]cty.Value{cty.StringVal("x"), cty.NumberIntVal(1)}),
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			want, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				t.Fatal(err)
			}
			got, ok := appendJSON(nil, v)
			if !ok || string(got) != string(want) {
				t.Errorf("appendJSON = %s (ok %v), ctyjson = %s", got, ok, want)
			}
		})
	}
	if _, ok := appendJSON(nil, cty.UnknownVal(cty.String)); ok {
		t.Error("an unknown value must fall back")
	}
}

func TestRenderValue(t *testing.T) {
	tests := map[string]struct {
		v    cty.Value
		want string
	}{
		"string":  {cty.StringVal(`a"b`), `"a\"b"`},
		"unknown": {cty.UnknownVal(cty.String), "(known after apply)"},
		"list":    {cty.ListVal([]cty.Value{cty.StringVal("x"), cty.UnknownVal(cty.String)}), `["x", (known after apply)]`},
		"object": {cty.ObjectVal(map[string]cty.Value{"b": cty.NumberIntVal(2), "a-b": cty.True, "1x": cty.NullVal(cty.String)}),
			`{ "1x" = null, a-b = true, b = 2 }`},
		"empty": {cty.EmptyObjectVal, "{}"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := renderValue(tc.v); got != tc.want {
				t.Errorf("renderValue = %s, want %s", got, tc.want)
			}
		})
	}
}
