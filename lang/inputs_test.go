package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

const inputsRunbook = `
variable "name" {
  type = string
}
variable "count" {
  type    = number
  default = 1
}
variable "hosts" {
  type = list(string)
}
variable "free" {}
variable "opts" {
  type = object({ fast = bool, level = number })
}
`

func TestInputValues(t *testing.T) {
	dir := t.TempDir()
	hclFile := filepath.Join(dir, "a.nrunvars.hcl")
	jsonFile := filepath.Join(dir, "b.json")
	if err := os.WriteFile(hclFile, []byte("name = \"from-file\"\ncount = 3\nunknown_one = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jsonFile, []byte(`{"hosts": ["a", "b"], "count": "4"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		env     []string // os.Environ form
		vars    []string
		files   []string
		want    map[string]cty.Value
		wantErr string // summary of the expected error, "" for none
		// wantDetail is part of that error's detail, "" for any.
		wantDetail string
		wantWarns  int
	}{
		"string var is taken literally": {
			vars: []string{"name=a=b [1]"},
			want: map[string]cty.Value{"name": cty.StringVal("a=b [1]")},
		},
		"untyped var is a string": {
			vars: []string{"free=[1,2]"},
			want: map[string]cty.Value{"free": cty.StringVal("[1,2]")},
		},
		"number var is parsed": {
			vars: []string{"count=5"},
			want: map[string]cty.Value{"count": cty.NumberIntVal(5)},
		},
		"list var is parsed as HCL": {
			vars: []string{`hosts=["x", "y"]`},
			want: map[string]cty.Value{"hosts": cty.ListVal([]cty.Value{cty.StringVal("x"), cty.StringVal("y")})},
		},
		"object var is converted": {
			vars: []string{`opts={ fast = "true", level = 2 }`},
			want: map[string]cty.Value{"opts": cty.ObjectVal(map[string]cty.Value{"fast": cty.True, "level": cty.NumberIntVal(2)})},
		},
		"files in order then -var wins": {
			files:     []string{hclFile, jsonFile},
			vars:      []string{"name=cli"},
			wantWarns: 1, // unknown_one
			want: map[string]cty.Value{
				"name":  cty.StringVal("cli"),
				"count": cty.NumberIntVal(4),
				"hosts": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
			},
		},
		"bare word for a number": {
			vars:       []string{"count=zz"},
			wantErr:    "Invalid value for input variable",
			wantDetail: `var.count is a number, and "zz" is not one written in HCL syntax. Pass it as -var 'count=5'.`,
		},
		"unquoted strings in a list": {
			vars:       []string{"hosts=[a, b]"},
			wantErr:    "Invalid value for input variable",
			wantDetail: `Pass it as -var 'hosts=["a", "a"]'. Only a string variable takes its value as written; inside a list, map or object, strings need double quotes.`,
		},
		"broken object": {
			vars:       []string{"opts={ fast = "},
			wantErr:    "Invalid value for input variable",
			wantDetail: `Pass it as -var 'opts={ fast = true, level = 5 }'.`,
		},
		"wrong type after parse": {
			vars:    []string{`count="many"`},
			wantErr: "Invalid value for input variable",
		},
		"undeclared": {
			vars:    []string{"nme=x"},
			wantErr: "Value for undeclared variable",
		},
		"no equals": {
			vars:    []string{"name"},
			wantErr: "Invalid -var option",
		},
		"missing file": {
			files:   []string{filepath.Join(dir, "nope.hcl")},
			wantErr: "Cannot read variables file",
		},
		"missing required is fine": {
			want: map[string]cty.Value{},
		},
		"env sets a variable": {
			env:  []string{"NRUN_VAR_name=from env=1"},
			want: map[string]cty.Value{"name": cty.StringVal("from env=1")},
		},
		"env is parsed by type": {
			env:  []string{"NRUN_VAR_count=7", `NRUN_VAR_hosts=["e"]`},
			want: map[string]cty.Value{"count": cty.NumberIntVal(7), "hosts": cty.ListVal([]cty.Value{cty.StringVal("e")})},
		},
		"env is below var files and -var": {
			env:       []string{"NRUN_VAR_name=env", "NRUN_VAR_count=9", "NRUN_VAR_free=env"},
			files:     []string{hclFile},
			vars:      []string{"name=cli"},
			wantWarns: 1, // unknown_one
			want: map[string]cty.Value{
				"name":  cty.StringVal("cli"),
				"count": cty.NumberIntVal(3),
				"free":  cty.StringVal("env"),
			},
		},
		"env ignores other names and undeclared variables": {
			env:  []string{"NRUN_VAR_nope=1", "PATH=/bin", "NRUN_VARname=x", "NRUN_VAR_name"},
			want: map[string]cty.Value{},
		},
		"env bad number": {
			env:        []string{"NRUN_VAR_count=zz"},
			wantErr:    "Invalid value for input variable",
			wantDetail: `var.count is a number, and "zz" is not one written in HCL syntax. Set it as NRUN_VAR_count='5'.`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb, diags := Parse(map[string][]byte{"x.nrun.hcl": []byte(inputsRunbook)})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			got, diags := InputValuesEnv(rb, tc.env, tc.vars, tc.files)
			if tc.wantErr != "" {
				if !diags.HasErrors() || diags.Errs()[0] == nil {
					t.Fatalf("want error %q, got none", tc.wantErr)
				}
				found := false
				for _, d := range diags {
					found = found || (d.Summary == tc.wantErr && strings.Contains(d.Detail, tc.wantDetail))
				}
				if !found || len(diags.Errs()) != 1 {
					t.Fatalf("want one error %q with detail %q, got %v", tc.wantErr, tc.wantDetail, diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if len(diags) != tc.wantWarns {
				t.Errorf("got %d warnings, want %d: %v", len(diags), tc.wantWarns, diags)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, w := range tc.want {
				if !got[k].RawEquals(w) {
					t.Errorf("%s = %#v, want %#v", k, got[k], w)
				}
				if _, ok := rb.InputRanges[k]; !ok {
					t.Errorf("no InputRanges entry for %s", k)
				}
			}
		})
	}
}

func TestInputValuesValidation(t *testing.T) {
	src := `
variable "v" {
  type = string
  validation {
    condition     = startswith_ok(var.v)
    error_message = "unused"
  }
}
`
	// The function does not exist: validation reports the call, not a panic.
	rb, diags := Parse(map[string][]byte{"x.nrun.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	in, diags := InputValues(rb, []string{"v=abc"}, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	diags = Validate(rb, in)
	if !diags.HasErrors() || diags[0].Summary != "Call to unknown function" {
		t.Fatalf("got %v", diags)
	}

	// A failing rule points at the -var value's synthetic range.
	src = `
variable "v" {
  type = string
  validation {
    condition     = strlen(var.v) > 3
    error_message = "v must be longer than 3 characters."
  }
}
output "v" { value = var.v }
`
	rb, _ = Parse(map[string][]byte{"x.nrun.hcl": []byte(src)})
	in, _ = InputValues(rb, []string{"v=ab"}, nil)
	diags = Validate(rb, in)
	if len(diags) != 1 || diags[0].Summary != "Invalid value for variable" || diags[0].Subject.Filename != "<value for var.v>" {
		t.Fatalf("got %v", diags)
	}
	in, _ = InputValues(rb, []string{"v=abcd"}, nil)
	if diags := Validate(rb, in); len(diags) != 0 {
		t.Fatalf("got %v", diags)
	}
}
