package lang

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestCheckAgentAddress(t *testing.T) {
	tests := map[string]struct {
		in   cty.Value
		want string // substring of the message; "" means accepted
	}{
		"host and port":   {in: cty.StringVal("127.0.0.1:8500")},
		"name and port":   {in: cty.StringVal("web-1.example.com:8500")},
		"http URL":        {in: cty.StringVal("http://10.0.0.5:8500")},
		"https URL slash": {in: cty.StringVal("https://10.0.0.5:8501/")},
		"ipv6":            {in: cty.StringVal("[::1]:8500")},
		"unknown":         {in: cty.UnknownVal(cty.String)},
		"null":            {in: cty.NullVal(cty.String)},
		"empty":           {in: cty.StringVal(""), want: "The address is empty"},
		"no port":         {in: cty.StringVal("web-1"), want: `"web-1" is not "host:port"`},
		"URL no port":     {in: cty.StringVal("http://web-1"), want: "is not \"host:port\""},
		"URL with path":   {in: cty.StringVal("http://web-1:8500/v1"), want: "is not \"host:port\""},
		"bad scheme":      {in: cty.StringVal("tcp://web-1:8500"), want: `The scheme "tcp"`},
		"port range":      {in: cty.StringVal("web-1:70000"), want: "not a number from 1 to 65535"},
		"port name":       {in: cty.StringVal("web-1:consul"), want: "not a number from 1 to 65535"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := checkAgentAddress(tc.in)
			if tc.want == "" && got != "" {
				t.Fatalf("rejected: %s", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
