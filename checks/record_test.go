package checks_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// recorder keeps the last JSON answer per route of a live cluster, so the
// live test can hold the hand-written API fixtures of package cluster
// against what real agents send.
type recorder struct {
	nomadHost string
	mu        sync.Mutex
	answers   map[string]any
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func routeKey(system, method, path string) string {
	return system + " " + method + " " + uuidRE.ReplaceAllString(path, "ID")
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	b, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if rerr != nil {
		return resp, nil
	}
	plain := b
	if resp.Header.Get("Content-Encoding") == "gzip" {
		// The Nomad client asks for gzip and unpacks it itself.
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return resp, nil
		}
		if plain, err = io.ReadAll(zr); err != nil {
			return resp, nil
		}
	}
	var v any
	if json.Unmarshal(plain, &v) == nil {
		system := "consul"
		if req.URL.Host == r.nomadHost {
			system = "nomad"
		}
		r.mu.Lock()
		r.answers[routeKey(system, req.Method, req.URL.Path)] = v
		r.mu.Unlock()
	}
	return resp, nil
}

// keyPaths lists every object key path in v: "Servers[].Address".
func keyPaths(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := prefix + "." + k
			if prefix == "" {
				p = k
			}
			// Maps keyed by data (tags, meta, task groups) are not schema.
			if k == "Tags" || k == "Meta" || k == "Attributes" || k == "TaskGroups" || k == "Drivers" || k == "Definition" || k == "TaggedAddresses" {
				out[p] = true
				continue
			}
			out[p] = true
			keyPaths(p, e, out)
		}
	case []any:
		for _, e := range x {
			keyPaths(prefix+"[]", e, out)
		}
	}
}

// compareFixture reports fixture keys that the real answer to the same
// route lacks: a field the fixture invented or misspelt.
func compareFixture(t *testing.T, fixture string, real map[string]any) {
	t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var routes map[string]struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(b, &routes); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for key, a := range routes {
		if a.Status != 0 && a.Status != 200 {
			continue
		}
		method, path, _ := strings.Cut(key[strings.Index(key, " ")+1:], " ")
		system := key[:strings.Index(key, " ")]
		got, ok := real[routeKey(system, method, path)]
		if !ok {
			continue
		}
		var want any
		if err := json.Unmarshal(a.Body, &want); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		fk, rk := map[string]bool{}, map[string]bool{}
		keyPaths("", want, fk)
		keyPaths("", got, rk)
		// A key counts as missing only where the real answer has
		// siblings: a null LastDrain or an empty allocation list cannot
		// say which fields it would have had.
		parents := map[string]bool{"": true}
		for k := range rk {
			parents[parent(k)] = true
		}
		var missing []string
		for k := range fk {
			if !rk[k] && parents[parent(k)] {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s: fixture %s has fields the real answer lacks: %v", key, fixture, missing)
		}
		compared++
	}
	var seen []string
	for k := range real {
		seen = append(seen, k)
	}
	sort.Strings(seen)
	t.Logf("compared %d fixture routes of %s with real answers (real routes: %s)", compared, fixture, strings.Join(seen, ", "))
	if compared < 12 {
		t.Errorf("only %d fixture routes had a real answer to compare with", compared)
	}
}

func parent(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	if strings.HasPrefix(path, "[]") {
		return "[]"
	}
	return ""
}
