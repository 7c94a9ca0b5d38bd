package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseGraphArgs(t *testing.T) {
	tests := map[string]struct {
		args    []string
		want    graphArgs
		wantErr string
	}{
		"defaults":  {args: nil, want: graphArgs{Path: "."}},
		"vars":      {args: []string{"-no-color", "-var", "a=1", "-var-file", "v.hcl", "rb"}, want: graphArgs{NoColor: true, Vars: []string{"a=1"}, VarFiles: []string{"v.hcl"}, Path: "rb"}},
		"two paths": {args: []string{"a", "b"}, wantErr: "graph takes one runbook PATH, got 2"},
		"no json":   {args: []string{"-json", "rb"}, wantErr: "flag provided but not defined: -json"},
		"bad var":   {args: []string{"-var", "novalue"}, wantErr: "is not NAME=VALUE"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseGraphArgs(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
