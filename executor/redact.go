package executor

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
)

// Redactor replaces secrets in text written to the journal, the audit log
// and events. Secrets are the Nomad and Consul tokens and the string values
// of sensitive variables (nested strings included), each also in the
// encodings a command is likely to print it in: upper and lower case,
// base64 (standard and URL alphabets, with and without padding), URL
// query and path escaping, and reversed. A command whose arguments are
// built from a sensitive value can print any transformation of it; its
// output is suppressed instead (see runCommand), since no list of
// encodings is complete.
type Redactor struct {
	secrets []string
	r       *strings.Replacer
	// longest is the length of the longest secret: how much text a
	// stream must hold back before it knows no secret starts there.
	longest int
}

// Redacted is what a secret is replaced with.
const Redacted = "<redacted>"

// encodings returns s and the forms of it that commands commonly print.
func encodings(s string) []string {
	rev := []rune(s)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	b := []byte(s)
	return []string{
		s,
		strings.ToUpper(s),
		strings.ToLower(s),
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		url.QueryEscape(s),
		url.PathEscape(s),
		string(rev),
	}
}

// NewRedactor builds a redactor for the given secrets and their
// encodings; empty strings and strings shorter than 4 bytes are ignored
// (they would mangle ordinary text and cannot be meaningful tokens).
func NewRedactor(secrets ...string) *Redactor {
	var keep []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		for _, e := range encodings(s) {
			if seen[e] {
				continue
			}
			seen[e] = true
			keep = append(keep, e)
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(keep, func(i, j int) bool {
		if len(keep[i]) != len(keep[j]) {
			return len(keep[i]) > len(keep[j])
		}
		return keep[i] < keep[j]
	})
	var pairs []string
	for _, s := range keep {
		pairs = append(pairs, s, Redacted)
	}
	r := &Redactor{secrets: keep, r: strings.NewReplacer(pairs...)}
	if len(keep) > 0 {
		r.longest = len(keep[0])
	}
	return r
}

// String redacts s.
func (r *Redactor) String(s string) string {
	if r == nil || len(r.secrets) == 0 {
		return s
	}
	return r.r.Replace(s)
}

// Prefix redacts the part of s that is final: text a later append to s
// cannot turn into a secret. It returns that part redacted and the rest,
// to be prepended to the next piece. With final set (the end of a line or
// stream) all of s is final. This is how a line too long to hold in memory
// is redacted piece by piece without letting a secret through at a piece
// boundary.
func (r *Redactor) Prefix(s string, final bool) (done, rest string) {
	if r == nil || len(r.secrets) == 0 {
		return s, ""
	}
	limit := len(s)
	if !final {
		// A secret starting at limit or later may still be incomplete.
		limit = len(s) - (r.longest - 1)
		if limit <= 0 {
			return "", s
		}
	}
	var b strings.Builder
	i := 0
	for {
		at, sec := -1, ""
		for _, x := range r.secrets {
			// secrets are longest first: on a tie at one position the
			// longest wins, as with String.
			if k := strings.Index(s[i:], x); k >= 0 && (at < 0 || i+k < at) {
				at, sec = i+k, x
			}
		}
		if at < 0 || at >= limit {
			if i < limit {
				b.WriteString(s[i:limit])
				i = limit
			}
			return b.String(), s[i:]
		}
		b.WriteString(s[i:at])
		b.WriteString(Redacted)
		i = at + len(sec)
	}
}

// SensitiveValues returns every string inside the values of the runbook's
// sensitive variables.
func SensitiveValues(rb *lang.Runbook, inputs map[string]cty.Value) []string {
	var out []string
	if rb == nil {
		return nil
	}
	for _, v := range rb.Variables {
		if !v.Sensitive {
			continue
		}
		val, ok := inputs[v.Name]
		if !ok || val == cty.NilVal {
			val = v.Default
		}
		lang.SecretStrings(val, &out)
	}
	return out
}
