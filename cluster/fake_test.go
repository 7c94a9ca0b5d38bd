package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is one recorded API answer: status (default 200), the
// X-Nomad-Index/X-Consul-Index value and the JSON body. A body that is a
// JSON string is sent as that string for non-200 answers (error text), and
// as JSON otherwise (status/leader answers a JSON string).
type answer struct {
	Status int             `json:"status"`
	Index  uint64          `json:"index"`
	Body   json.RawMessage `json:"body"`
}

// fakeAPI serves recorded Nomad and Consul answers from a routes file keyed
// "nomad GET /path" / "consul GET /path". Unknown routes answer 404, which
// makes a test fail loudly when the client asks for something new.
type fakeAPI struct {
	mu     sync.Mutex
	routes map[string]answer
	// seen counts requests by route key; tokens records the token header
	// of every request.
	seen   map[string]int
	tokens []string
	// block, when set, is called for requests with ?index= so tests can
	// check the blocking parameters.
	block func(system string, r *http.Request)
	// later holds, by route key, an answer that replaces the route's
	// once the route has been read n times in all (a fault that clears).
	later map[string]laterAnswer

	nomad, consul *httptest.Server
}

func newFakeAPI(t *testing.T, file string) *fakeAPI {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAPI{seen: map[string]int{}}
	if err := json.Unmarshal(b, &f.routes); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	f.nomad = httptest.NewServer(f.handler("nomad", "X-Nomad-Token", "X-Nomad-Index"))
	f.consul = httptest.NewServer(f.handler("consul", "X-Consul-Token", "X-Consul-Index"))
	t.Cleanup(f.nomad.Close)
	t.Cleanup(f.consul.Close)
	return f
}

func (f *fakeAPI) set(key string, a answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[key] = a
}

type laterAnswer struct {
	n int
	a answer
}

// setAfter makes the route key answer a once it has been read n more
// times: a fault that clears while the client reads again.
func (f *fakeAPI) setAfter(key string, n int, a answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.later == nil {
		f.later = map[string]laterAnswer{}
	}
	f.later[key] = laterAnswer{n: f.seen[key] + n, a: a}
}

func (f *fakeAPI) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[key]
}

func (f *fakeAPI) handler(system, tokenHeader, indexHeader string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := system + " " + r.Method + " " + r.URL.Path
		f.mu.Lock()
		f.seen[key]++
		if l, ok := f.later[key]; ok && f.seen[key] > l.n {
			f.routes[key] = l.a
			delete(f.later, key)
		}
		f.tokens = append(f.tokens, r.Header.Get(tokenHeader))
		a, ok := f.routes[key]
		block := f.block
		f.mu.Unlock()
		if block != nil && r.URL.Query().Get("index") != "" {
			block(system, r)
		}
		if !ok {
			http.Error(w, "no route "+key, http.StatusNotFound)
			return
		}
		status := a.Status
		if status == 0 {
			status = http.StatusOK
		}
		if a.Index != 0 {
			w.Header().Set(indexHeader, strconv.FormatUint(a.Index, 10))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		body := []byte(a.Body)
		var text string
		if status != http.StatusOK && json.Unmarshal(a.Body, &text) == nil {
			body = []byte(text)
		}
		_, _ = w.Write(body)
	})
}

// env returns a Getenv that points nrun at the fake servers, plus extra.
func (f *fakeAPI) env(extra ...string) func(string) string {
	m := map[string]string{
		"NOMAD_ADDR":       f.nomad.URL,
		"CONSUL_HTTP_ADDR": f.consul.URL,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return func(k string) string { return m[k] }
}

// countingTransport counts round trips; it is how tests pin the number of
// requests a Snapshot costs.
type countingTransport struct {
	mu sync.Mutex
	n  int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

var fixedClock = func() time.Time { return time.Date(2026, 11, 22, 7, 30, 0, 0, time.UTC) }

func newTestClient(t *testing.T, f *fakeAPI, rt http.RoundTripper, extraEnv ...string) *Client {
	t.Helper()
	// The fake API's servers have no RPC listener: every probe answers up.
	up := func(context.Context, string) string { return RPCUp }
	opts := []Option{WithGetenv(f.env(extraEnv...)), WithClock(fixedClock), WithWaitTime(2 * time.Second), WithRPCProbe(up)}
	if rt != nil {
		opts = append(opts, WithTransport(rt))
	}
	c, err := New(Config{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
