package executor

import (
	"strings"
	"testing"
)

func TestRedactorEncodings(t *testing.T) {
	const secret = "Hunter2/pass+word?x=1"
	tests := map[string]struct {
		secrets []string
		in      string
		want    string
	}{
		"plain":            {[]string{secret}, "pw=Hunter2/pass+word?x=1.", "pw=<redacted>."},
		"upper":            {[]string{secret}, "HUNTER2/PASS+WORD?X=1", "<redacted>"},
		"lower":            {[]string{secret}, "hunter2/pass+word?x=1", "<redacted>"},
		"base64 std":       {[]string{secret}, "SHVudGVyMi9wYXNzK3dvcmQ/eD0x", "<redacted>"},
		"base64 url":       {[]string{secret}, "SHVudGVyMi9wYXNzK3dvcmQ_eD0x", "<redacted>"},
		"base64 padded":    {[]string{"abcd"}, "auth YWJjZA== end", "auth <redacted> end"},
		"base64 raw":       {[]string{"abcd"}, "auth YWJjZA end", "auth <redacted> end"},
		"query escape":     {[]string{secret}, "?p=Hunter2%2Fpass%2Bword%3Fx%3D1&", "?p=<redacted>&"},
		"path escape":      {[]string{secret}, "/u/Hunter2%2Fpass+word%3Fx=1/", "/u/<redacted>/"},
		"reversed":         {[]string{secret}, "1=x?drow+ssap/2retnuH", "<redacted>"},
		"reversed unicode": {[]string{"pässwörd"}, "dröwssäp", "<redacted>"},
		"short ignored":    {[]string{"abc"}, "abc ABC YWJj cba", "abc ABC YWJj cba"},
		"empty ignored":    {[]string{""}, "text", "text"},
		"longest first":    {[]string{"token", "token-long"}, "token-long token", "<redacted> <redacted>"},
		"mixed case kept":  {[]string{"secret"}, "SeCrEt", "SeCrEt"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r := NewRedactor(tt.secrets...)
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Fed in pieces of every size, Prefix gives the same text.
			for size := 1; size <= len(tt.in); size++ {
				var b strings.Builder
				carry := ""
				for i := 0; i < len(tt.in); i += size {
					end := min(i+size, len(tt.in))
					done, rest := r.Prefix(carry+tt.in[i:end], end == len(tt.in))
					b.WriteString(done)
					carry = rest
				}
				if b.String() != tt.want || carry != "" {
					t.Fatalf("in pieces of %d: %q (carry %q), want %q", size, b.String(), carry, tt.want)
				}
			}
		})
	}
}
