package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestConcurrentChangesAndConsulAgents changes one sandbox from two
// Cluster values at once, as two `nrun sandbox` processes started by
// terraform do (flock locks belong to open files, so two Opens in one
// process exclude each other like two processes): both added clients are
// in the state file afterwards. The server and one client have their own
// Consul agents: the Nomad agents' services are registered on those nodes,
// node maintenance set through the agent's address shows in the catalog,
// and removing the client removes its Consul node.
func TestConcurrentChangesAndConsulAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	spec := sandbox.DefaultSpec("", 1, 0, 1, sandbox.DefaultNomadVersion)
	spec.Servers[0].ConsulAgent = true
	sb := sandboxtest.New(t, spec)
	ctx := ctxFor(t, 3*time.Minute)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		c, err := sandbox.Open(sb.Root(), sandbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.AddClient(ctx, sandbox.ClientSpec{Name: fmt.Sprintf("x%d", i+1), ConsulAgent: i == 0})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("add client x%d: %v", i+1, err)
		}
	}
	var st struct {
		Agents []struct{ Kind, Name string }
	}
	data, err := os.ReadFile(filepath.Join(sb.Root(), "sandbox.json"))
	if err != nil || json.Unmarshal(data, &st) != nil {
		t.Fatalf("read state: %v\n%s", err, data)
	}
	var got []string
	for _, a := range st.Agents {
		got = append(got, a.Kind+"/"+a.Name)
	}
	sort.Strings(got)
	want := "consul-client/s1 consul-client/x1 consul-server/consul1 nomad-client/x1 nomad-client/x2 nomad-server/s1"
	if strings.Join(got, " ") != want {
		t.Fatalf("state file agents:\n got %s\nwant %s", strings.Join(got, " "), want)
	}

	agents := sb.ConsulAgents()
	if len(agents) != 2 || agents["s1"] == "" || agents["x1"] == "" {
		t.Fatalf("ConsulAgents = %v, want s1 and x1", agents)
	}
	consul := consulAddr(t, sb)
	// The server registered its "nomad" services through its own agent.
	poll(t, sb, time.Minute, "the nomad service on node s1", func() (bool, string) {
		var svcs []struct{ Node, ServiceName string }
		if err := getJSON("http://"+consul+"/v1/catalog/service/nomad", &svcs); err != nil {
			return false, err.Error()
		}
		// One registration per port (http, rpc, serf), all on s1's node.
		for _, s := range svcs {
			if s.Node != "s1" {
				return false, fmt.Sprintf("%+v", svcs)
			}
		}
		return len(svcs) > 0, fmt.Sprintf("%+v", svcs)
	})

	req, _ := http.NewRequest(http.MethodPut, "http://"+agents["s1"]+"/v1/agent/maintenance?enable=true&reason=test", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("maintenance on s1's agent: %v %v", err, resp)
	}
	resp.Body.Close()
	poll(t, sb, 30*time.Second, "s1 in maintenance in the catalog", func() (bool, string) {
		var checks []struct{ CheckID, Status string }
		if err := getJSON("http://"+consul+"/v1/health/node/s1", &checks); err != nil {
			return false, err.Error()
		}
		for _, c := range checks {
			if c.CheckID == "_node_maintenance" {
				return c.Status == "critical", c.Status
			}
		}
		return false, fmt.Sprintf("%+v", checks)
	})

	if err := sb.RemoveClient(ctx, "x1"); err != nil {
		t.Fatal(err)
	}
	if a := sb.ConsulAgents(); len(a) != 1 || a["s1"] == "" {
		t.Fatalf("after removing x1, ConsulAgents = %v", a)
	}
	poll(t, sb, 30*time.Second, "node x1 gone from the Consul catalog", func() (bool, string) {
		var node json.RawMessage
		if err := getJSON("http://"+consul+"/v1/catalog/node/x1", &node); err != nil {
			return false, err.Error()
		}
		return string(node) == "null", "x1 is still in the catalog: " + string(node)
	})
}

func consulAddr(t *testing.T, sb *sandbox.Cluster) string {
	t.Helper()
	for _, kv := range sb.Env() {
		if v, ok := strings.CutPrefix(kv, "CONSUL_HTTP_ADDR="); ok {
			return v
		}
	}
	t.Fatal("the sandbox has no CONSUL_HTTP_ADDR")
	return ""
}

func getJSON(url string, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
