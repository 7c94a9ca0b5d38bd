package backends

import (
	"bytes"
	"fmt"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

// runIDOf returns the ID of the run `nrun runs` lists in state.
func runIDOf(t *testing.T, e *env, kind, rb, state string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^(\S+)\s+` + state + `\b`)
	var id string
	e2etest.Eventually(t, "a run "+state+" in the backend", 30*time.Second, func() (bool, string) {
		r := e.Nrun("runs", "-backend="+kind, rb)
		if m := re.FindStringSubmatch(r.Stdout); m != nil {
			id = m[1]
			return true, ""
		}
		return false, r.String()
	})
	return id
}

// damageCopy alters the first chunk of a run's copy in the store.
func damageCopy(t *testing.T, e *env, kind, path, runID string) {
	t.Helper()
	envs := map[string]string{}
	for _, kv := range e.SB.Env() {
		k, v, _ := strings.Cut(kv, "=")
		envs[k] = v
	}
	key := path + "/runs/" + runID + "/j/000001"
	alter := func(v []byte) []byte {
		out := bytes.Replace(v, []byte(`"kind":"end"`), []byte(`"kind":"enD"`), 1)
		if bytes.Equal(out, v) {
			t.Fatalf("%s holds no end record to alter:\n%s", key, v)
		}
		return out
	}
	switch kind {
	case "consul":
		cc, err := consul.NewClient(&consul.Config{Address: envs["CONSUL_HTTP_ADDR"]})
		if err != nil {
			t.Fatal(err)
		}
		kv, _, err := cc.KV().Get(key, nil)
		if err != nil || kv == nil {
			t.Fatalf("read %s: %v", key, err)
		}
		kv.Value = alter(kv.Value)
		if _, err := cc.KV().Put(kv, nil); err != nil {
			t.Fatal(err)
		}
	case "nomad":
		cfg := nomad.DefaultConfig()
		cfg.Address = envs["NOMAD_ADDR"]
		nc, err := nomad.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := nc.Variables().Read(key, nil)
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		v.Items["v"] = string(alter([]byte(v.Items["v"])))
		if _, _, err := nc.Variables().Update(v, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// A run left in the middle of an action (kill -9) and a run whose copy
// in the store is damaged each block new applies, which name
// `nrun apply -abandon RUN-ID -backend=KIND`; that command is refused
// while another nrun holds the lock, naming it, and otherwise records the
// abandonment in the backend, after which runs shows it and a new apply
// runs.
func TestBackendAbandon(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			e := backendEnv(t)
			const n = 3
			name := fmt.Sprintf("abandon-%s-%d", kind, time.Now().UnixNano())
			rb, count := counterRunbook(t, e.Dir, name, n, "3")
			abandonCmd := func(id string) []string {
				return []string{"apply", "-abandon", id, "-backend=" + kind, "-lock-timeout=60s", rb}
			}
			a := e.start("apply", "-auto-approve", "-backend="+kind, "-state-dir", filepath.Join(e.Dir, "a"), rb)
			waitLines(t, a, count, 1, 60*time.Second)
			id := runIDOf(t, e, kind, rb, "unfinished")

			// The running holder cannot be abandoned under it.
			r := e.Nrun("apply", "-abandon", id, "-backend="+kind, rb)
			if r.Code != 1 || !strings.Contains(r.Stderr, fmt.Sprintf("pid %d", a.cmd.Process.Pid)) || !strings.Contains(r.Stderr, "not abandoned") {
				t.Fatalf("abandon while the run holds the lock: want exit 1 naming pid %d\n%s", a.cmd.Process.Pid, r)
			}
			t.Logf("abandon refused:\n%s", r.Stderr)
			// Killed in the middle of step s1's action.
			a.cmd.Process.Signal(syscall.SIGKILL)
			<-a.done

			apply := func() e2etest.Result {
				return e.Nrun("apply", "-auto-approve", "-backend="+kind, "-lock-timeout=60s", "-state-dir", filepath.Join(e.Dir, "b"), rb)
			}
			r = apply()
			if want := "nrun apply -abandon " + id + " -backend=" + kind; r.Code != 1 || !strings.Contains(r.Stderr, "stopped in the middle") || !strings.Contains(r.Stderr, want) {
				t.Fatalf("apply over a run stopped mid-action: want exit 1 naming %q\n%s", want, r)
			}
			t.Logf("refused:\n%s", r.Stderr)
			r = e.MustNrun(abandonCmd(id)...)
			t.Logf("%s", r.Stderr)
			if runs := e.MustNrun("runs", "-backend="+kind, rb); !regexp.MustCompile(`(?m)^` + id + `\s+abandoned`).MatchString(runs.Stdout) {
				t.Errorf("nrun runs does not show %s abandoned:\n%s", id, runs.Stdout)
			}
			if st := e.Nrun("status", "-backend="+kind, "-run", id, rb); !strings.Contains(st.Stderr, "was abandoned by") {
				t.Errorf("nrun status does not show %s abandoned:\n%s", id, st)
			}
			if r := e.Nrun(abandonCmd(id)...); r.Code != 1 || !strings.Contains(r.Stderr, "already abandoned") {
				t.Errorf("second abandon: want exit 1, already abandoned\n%s", r)
			}
			if r := apply(); r.Code != 0 {
				t.Fatalf("apply after the abandon: %s", r)
			}
			if c := counts(t, count); c[fmt.Sprintf("s%d", n)] != 1 {
				t.Errorf("counts after the new run: %v", c)
			}

			// The finished run's copy damaged in the store.
			id2 := runIDOf(t, e, kind, rb, "finished")
			damageCopy(t, e, kind, "nrun/"+name, id2)
			r = apply()
			if want := "nrun apply -abandon " + id2 + " -backend=" + kind; r.Code != 1 || !strings.Contains(r.Stderr, "cannot be read") || !strings.Contains(r.Stderr, want) {
				t.Fatalf("apply over a damaged copy: want exit 1 naming %q\n%s", want, r)
			}
			t.Logf("refused:\n%s", r.Stderr)
			r = e.MustNrun(abandonCmd(id2)...)
			t.Logf("%s", r.Stderr)
			if !strings.Contains(r.Stderr, "could not be read") {
				t.Errorf("abandon of a damaged copy does not say it could not be read:\n%s", r.Stderr)
			}
			if runs := e.MustNrun("runs", "-backend="+kind, rb); !regexp.MustCompile(`(?m)^` + id2 + `\s+abandoned.*damaged`).MatchString(runs.Stdout) {
				t.Errorf("nrun runs does not show %s abandoned and damaged:\n%s", id2, runs.Stdout)
			}
			if r := apply(); r.Code != 0 {
				t.Fatalf("apply after abandoning the damaged copy: %s", r)
			}
		})
	}
}
