package checks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// Every check the language accepts must have an implementation here, and
// nothing here may be unreachable from the language.
func TestEveryLangCheckIsImplemented(t *testing.T) {
	var langNames []string
	for name := range lang.CheckSpecs {
		langNames = append(langNames, name)
	}
	sort.Strings(langNames)
	if !reflect.DeepEqual(langNames, Names()) {
		t.Errorf("lang.CheckSpecs has %v\nchecks implements %v", langNames, Names())
	}
	for _, name := range langNames {
		if name != HTTPCheck && !Pure(name) {
			t.Errorf("%s has no pure implementation", name)
		}
	}
}

// Every argument a check spec declares must convert, so a runbook that
// validates never fails in ArgsFromCty.
func TestEveryLangArgConverts(t *testing.T) {
	sample := map[string]cty.Value{
		"cluster":  cty.StringVal("consul"),
		"server":   cty.StringVal("s1"),
		"node":     cty.StringVal("c1"),
		"job":      cty.StringVal("web"),
		"transfer": cty.True,
		"enabled":  cty.False,
		"count":    cty.NumberIntVal(3),
		"version":  cty.StringVal("1.10.0"),
		"min":      cty.StringVal("1.10.0"),
		"url":      cty.StringVal("http://127.0.0.1/"),
		"status":   cty.NumberIntVal(204),
	}
	for name, spec := range lang.CheckSpecs {
		for _, attr := range spec.Attrs {
			v, ok := sample[attr.Name]
			if !ok {
				t.Errorf("%s.%s: no sample value; teach ArgsFromCty and this test the new argument", name, attr.Name)
				continue
			}
			if _, err := ArgsFromCty(map[string]cty.Value{attr.Name: v}); err != nil {
				t.Errorf("%s.%s: %v", name, attr.Name, err)
			}
		}
	}
}

func TestArgsFromCty(t *testing.T) {
	serverObj := cty.ObjectVal(map[string]cty.Value{
		"id": cty.StringVal("id-2"), "name": cty.StringVal("s2"), "address": cty.StringVal("127.0.0.1:4657"),
		"host": cty.StringVal("127.0.0.1"), "leader": cty.False, "voter": cty.True, "version": cty.StringVal("1.10.0"),
		"raft_protocol": cty.StringVal("3"), "status": cty.StringVal("alive"),
	})
	consulObj := cty.ObjectVal(map[string]cty.Value{
		"id": cty.StringVal("cid"), "name": cty.StringVal("cs1"), "address": cty.StringVal("127.0.0.1:8300"),
		"host": cty.StringVal("127.0.0.1"), "leader": cty.True, "voter": cty.True, "version": cty.StringVal("1.21.0"),
		"status": cty.StringVal("alive"), "datacenter": cty.StringVal("dc1"),
	})
	nodeObj := cty.ObjectVal(map[string]cty.Value{
		"id": cty.StringVal("nid"), "name": cty.StringVal("c1"), "address": cty.StringVal("127.0.0.1"), "host": cty.StringVal("127.0.0.1"),
		"datacenter": cty.StringVal("dc1"), "node_pool": cty.StringVal("blue"), "node_class": cty.StringVal(""),
		"meta": cty.MapValEmpty(cty.String), "status": cty.StringVal("ready"), "eligibility": cty.StringVal("eligible"),
		"drain": cty.False, "version": cty.StringVal("1.10.0"),
	})
	// The fixtures must really be the language's types, or this test
	// proves nothing about runbooks.
	for want, v := range map[string]cty.Value{"server": serverObj, "consul": consulObj, "node": nodeObj} {
		types := map[string]cty.Type{"server": lang.ServerType, "consul": lang.ConsulServerType, "node": lang.NodeType}
		if !v.Type().Equals(types[want]) {
			t.Fatalf("%s fixture is %s, not the lang type", want, v.Type().FriendlyName())
		}
	}

	cases := map[string]struct {
		in      map[string]cty.Value
		want    Args
		wantErr string
	}{
		"empty": {in: nil, want: Args{}},
		"server object": {
			in:   map[string]cty.Value{"server": serverObj, "transfer": cty.True},
			want: Args{Server: &Target{Kind: lang.TargetNomadServer, ID: "id-2", Name: "s2", Address: "127.0.0.1:4657"}, Transfer: true},
		},
		"consul server object": {
			in:   map[string]cty.Value{"server": consulObj},
			want: Args{Server: &Target{Kind: lang.TargetConsulServer, ID: "cid", Name: "cs1", Address: "127.0.0.1:8300"}},
		},
		"node object for consul_maintenance": {
			in:   map[string]cty.Value{"node": nodeObj, "enabled": cty.False},
			want: Args{Node: &Target{Kind: lang.TargetNomadNode, ID: "nid", Name: "c1", Address: "127.0.0.1"}, Enabled: ptr(false)},
		},
		"node by name": {
			in:   map[string]cty.Value{"node": cty.StringVal("c1")},
			want: Args{Node: &Target{ID: "c1", Name: "c1"}},
		},
		"nulls and block arguments are skipped": {
			in:   map[string]cty.Value{"count": cty.NullVal(cty.Number), "timeout": cty.StringVal("5m"), "interval": cty.StringVal("5s")},
			want: Args{},
		},
		"numbers": {
			in:   map[string]cty.Value{"count": cty.NumberIntVal(5), "status": cty.NumberIntVal(301), "url": cty.StringVal("http://x/")},
			want: Args{Count: ptr(5), Status: 301, URL: "http://x/"},
		},
		"fraction":      {in: map[string]cty.Value{"count": cty.NumberFloatVal(2.5)}, wantErr: `argument "count": want a whole number, got 2.5`},
		"negative":      {in: map[string]cty.Value{"status": cty.NumberIntVal(-1)}, wantErr: `argument "status": want a whole number from 0 to 2147483647, got -1`},
		"wrong type":    {in: map[string]cty.Value{"transfer": cty.StringVal("yes")}, wantErr: `argument "transfer": want a bool, got string`},
		"unknown value": {in: map[string]cty.Value{"job": cty.UnknownVal(cty.String)}, wantErr: `argument "job" is not known yet`},
		"unknown name":  {in: map[string]cty.Value{"jobb": cty.StringVal("web")}, wantErr: `checks do not take an argument named "jobb"`},
		"list target":   {in: map[string]cty.Value{"server": cty.ListValEmpty(cty.String)}, wantErr: `argument "server": want a server or node object, or its name, got list of string`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ArgsFromCty(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEvalHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	probe := HTTPProbe(nil)
	cases := map[string]struct {
		args Args
		ok   bool
		want string
	}{
		"ok":          {args: Args{URL: srv.URL + "/ok"}, ok: true, want: "http_ok: GET " + srv.URL + "/ok -> 200: ok"},
		"unavailable": {args: Args{URL: srv.URL + "/down"}, want: "http_ok: GET " + srv.URL + "/down -> 503: not ok: want status 200"},
		"redirect not followed": {
			args: Args{URL: srv.URL + "/moved", Status: 301}, ok: true,
			want: "http_ok: GET " + srv.URL + "/moved -> 301: ok",
		},
		"no url": {want: "http_ok: not ok: http_ok needs a url argument"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := EvalHTTP(context.Background(), tc.args, probe)
			if r.OK != tc.ok || r.String() != tc.want {
				t.Errorf("got  %v %s\nwant %v %s", r.OK, r, tc.ok, tc.want)
			}
		})
	}
	failing := func(context.Context, string) (int, error) { return 0, errors.New("connection refused") }
	if r := EvalHTTP(context.Background(), Args{URL: "http://x/"}, failing); r.OK || r.String() != "http_ok: GET http://x/ failed: not ok: connection refused" {
		t.Errorf("failing probe: %s", r)
	}
}

// No check may panic, whatever the view lacks.
func TestEvalNeverPanics(t *testing.T) {
	views := map[string]*cluster.View{
		"nil":          nil,
		"empty":        {},
		"empty nomad":  {Nomad: &cluster.NomadView{}, Consul: &cluster.ConsulView{}},
		"nil job deps": {Nomad: &cluster.NomadView{Jobs: []cluster.Job{{ID: "web"}}, Nodes: []cluster.Node{{Name: "c1"}}}},
	}
	targets := []Target{{}, server("s1"), node("c1"), consulServer("cs1"), {Kind: lang.TargetJob, ID: "web"}}
	argsets := []Args{{}, {Cluster: "consul"}, {Job: "web"}, {Server: &Target{}}, {Node: &Target{}}, {Count: ptr(0)}, {Version: "1"}}
	for _, name := range append(Names(), "nope") {
		for vn, v := range views {
			for _, tg := range targets {
				for _, a := range argsets {
					r := Eval(name, a, tg, v)
					if r.Name != name {
						t.Fatalf("%s on %s: result named %q", name, vn, r.Name)
					}
					if !r.OK && r.Reason == "" {
						t.Errorf("%s on %s with %+v/%+v: failing result without a reason: %s", name, vn, tg, a, r)
					}
					if strings.Contains(r.String(), "%!") {
						t.Errorf("format error in %s", r)
					}
				}
			}
		}
	}
}

// TestEvaluatorsCompleteAgainstCatalog: every catalog check has exactly
// one evaluator (evaluates panics on a second), or, when its entry waits
// by probing outside the view, is the one EvalHTTP evaluates; and every
// evaluator belongs to a catalog entry.
func TestEvaluatorsCompleteAgainstCatalog(t *testing.T) {
	entries := map[*lang.CheckSpec]bool{}
	for _, name := range lang.CheckNames() {
		spec := lang.CheckSpecs[name]
		entries[spec] = true
		_, has := pure[spec]
		switch {
		case spec.Wait.Kind == lang.WaitProbe && (has || name != HTTPCheck):
			t.Errorf("check %q probes outside the view: only %s may, and it has no view evaluator", name, HTTPCheck)
		case spec.Wait.Kind != lang.WaitProbe && !has:
			t.Errorf("check %q has no evaluator; register one with evaluates", name)
		}
	}
	for spec := range pure {
		if !entries[spec] {
			t.Errorf("an evaluator is registered against %q, which is not a catalog entry", spec.Name)
		}
	}
}

// TestClusterFromCatalog: the cluster a check reads at run time is the
// catalog's rule (lang.CheckSpec.Cluster), the one the safety analysis
// and LANGUAGE.md use. servers_healthy reads Nomad unless its cluster
// argument says consul, whatever the step's target; quorum_ok follows a
// Consul server target.
func TestClusterFromCatalog(t *testing.T) {
	v := loadView(t, "healthy3")
	v.Consul = nil // a Consul read would fail, naming it
	cases := map[string]struct {
		check  string
		args   Args
		target Target
		want   lang.Cluster
		ok     bool
	}{
		"servers_healthy, Consul server target": {check: "servers_healthy", target: consulServer("c1"), want: lang.ClusterNomadServers, ok: true},
		"servers_healthy, cluster consul":       {check: "servers_healthy", args: Args{Cluster: "consul"}, target: consulServer("c1"), want: lang.ClusterConsulServers},
		"servers_version, Consul server target": {check: "servers_version", args: Args{Version: "1.10.0"}, target: consulServer("c1"), want: lang.ClusterNomadServers, ok: true},
		"quorum_ok, Consul server target":       {check: "quorum_ok", target: consulServer("c1"), want: lang.ClusterConsulServers},
		"quorum_ok, cluster nomad":              {check: "quorum_ok", args: Args{Cluster: "nomad"}, target: consulServer("c1"), want: lang.ClusterNomadServers, ok: true},
		"leader_not_target, Consul server arg":  {check: "leader_not_target", args: Args{Server: ptr(consulServer("c1"))}, target: server("s2"), want: lang.ClusterConsulServers},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ClusterOf(lang.CheckSpecs[tc.check], tc.args, tc.target); got != tc.want {
				t.Errorf("ClusterOf = %s, want %s (the catalog's rule)", got, tc.want)
			}
			res := Eval(tc.check, tc.args, tc.target, v)
			noConsul := strings.Contains(res.Reason, "no Consul data")
			if res.OK != tc.ok || noConsul != (tc.want == lang.ClusterConsulServers) {
				t.Errorf("Eval read the wrong cluster (want %s): %s", tc.want, res)
			}
		})
	}
}
