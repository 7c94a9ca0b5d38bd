package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
)

// ciDoc is the CI recipe whose workflow TestCIRecipe runs.
const ciDoc = "../docs/ci.md"

// ciRecipe is what TestCIRecipe takes from the workflow in docs/ci.md: its
// nrun lines, in order, and the env values they use.
type ciRecipe struct {
	lines []string          // shell lines starting with "nrun ", trimmed
	env   map[string]string // workflow- and job-level env, literal values only
}

// envLine is a YAML env entry with a literal value (not an expression).
var envLine = regexp.MustCompile(`^\s+([A-Z][A-Z0-9_]*):\s*([^\s$#{][^\s#]*)\s*$`)

// readCIRecipe reads the first yaml block of docs/ci.md. Taking the
// commands from the document itself keeps the two from drifting apart: a
// line edited there is the line run here.
func readCIRecipe(t *testing.T) ciRecipe {
	t.Helper()
	src, err := os.ReadFile(ciDoc)
	if err != nil {
		t.Fatal(err)
	}
	r := ciRecipe{env: map[string]string{}}
	in, done := false, false
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() && !done {
		line := sc.Text()
		switch {
		case !in && line == "```yaml":
			in = true
		case in && line == "```":
			done = true
		case in:
			if s := strings.TrimSpace(line); strings.HasPrefix(s, "nrun ") {
				r.lines = append(r.lines, s)
			} else if m := envLine.FindStringSubmatch(line); m != nil {
				r.env[m[1]] = m[2]
			}
		}
	}
	if !done {
		t.Fatalf("%s: no complete ```yaml block", ciDoc)
	}
	return r
}

// TestCIRecipe runs the nrun lines of the workflow in docs/ci.md, in the
// order the workflow has them, as its steps run them (bash with -e and
// pipefail, in a checkout-like directory, with the workflow's env), against
// a fresh sandbox: validate; plan -detailed-exitcode -out (2: there is
// work); show -markdown (the comment, under its marker); plan -markdown
// with the cluster unreachable (the failure comment); then the cluster
// moves and apply -json of the saved plan is refused with a stale
// diagnostic; a new plan (the same line without -detailed-exitcode, 0) and
// the same apply line succeed.
func TestCIRecipe(t *testing.T) {
	rc := readCIRecipe(t)
	var subcommands []string
	for _, l := range rc.lines {
		subcommands = append(subcommands, strings.Fields(l)[1])
	}
	if got, want := strings.Join(subcommands, " "), "validate plan show plan apply"; got != want {
		t.Fatalf("%s: the workflow's nrun lines are %q, this test runs %q; update the test with the document:\n%s", ciDoc, got, want, strings.Join(rc.lines, "\n"))
	}
	validate, plan, show, planFailed, apply := rc.lines[0], rc.lines[1], rc.lines[2], rc.lines[3], rc.lines[4]
	for _, c := range []struct{ what, line, flag string }{
		{"plan", plan, "-detailed-exitcode"},
		{"show", show, "-markdown"},
		{"plan failure", planFailed, "-markdown"},
		{"apply", apply, "-json"},
	} {
		if !strings.Contains(c.line, " "+c.flag+" ") {
			t.Fatalf("%s: the %s line %q lacks %s, which this test relies on", ciDoc, c.what, c.line, c.flag)
		}
	}
	if !strings.HasSuffix(planFailed, " || true") {
		t.Fatalf("%s: the plan failure line %q should end in || true: the step goes on to post the comment", ciDoc, planFailed)
	}
	for _, k := range []string{"RUNBOOK", "VAR_FILE", "NRUN_STATE_DIR"} {
		if rc.env[k] == "" {
			t.Fatalf("%s: the workflow sets no literal %s", ciDoc, k)
		}
	}

	spec := sandbox.Spec{
		Servers: []sandbox.ServerSpec{{Name: "s1"}},
		// m1 first: newEnv points NOMAD_ADDR at it, and it is not drained.
		Clients: []sandbox.ClientSpec{{Name: "m1"}, {Name: "b1", NodePool: "batch"}},
	}
	e := newEnv(t, spec)
	var b1 *nomad.NodeListStub
	for _, n := range e.WaitNodes(2) {
		if n.Name == "b1" {
			b1 = n
		}
	}
	if b1 == nil {
		t.Fatal("node b1 is not ready")
	}

	// The checkout: the runbook at the workflow's RUNBOOK path, a copy of
	// the repository's, and a var file at VAR_FILE for the batch pool.
	runbook := filepath.Join(e2etest.RunbooksDir(t), filepath.Base(rc.env["RUNBOOK"]))
	src, err := os.ReadFile(runbook)
	if err != nil {
		t.Fatalf("the workflow's RUNBOOK %s is not one of runbooks/: %v", rc.env["RUNBOOK"], err)
	}
	writeFile(t, filepath.Join(e.Dir, rc.env["RUNBOOK"]), src)
	writeFile(t, filepath.Join(e.Dir, rc.env["VAR_FILE"]), []byte("node_pool = \"batch\"\ndeadline  = \"1m\"\n"))
	for k, v := range rc.env {
		e.Vars[k] = v
	}

	e.step(validate, 0)

	r := e.step(plan, exitChangesCode)
	if !strings.Contains(r.Stdout, `step.drain["b1"]`) || strings.Contains(r.Stdout, `["m1"]`) {
		t.Errorf("the plan should drain b1 only:\n%s", r)
	}

	e.step(show, 0)
	md := e.read("plan.md")
	if first, _, _ := strings.Cut(md, "\n"); first != "<!-- nrun-plan: drain-node-pool -->" {
		t.Errorf("plan.md starts with %q, not the comment marker:\n%s", first, md)
	}
	for _, want := range []string{"`drain-node-pool`", `step.drain["b1"]`} {
		if !strings.Contains(md, want) {
			t.Errorf("plan.md lacks %s:\n%s", want, md)
		}
	}

	// The failure branch, with nothing listening on NOMAD_ADDR (run
	// without its "|| true" to see nrun's own exit code): the comment
	// still carries the marker and says why.
	addr := e.Vars["NOMAD_ADDR"]
	e.Vars["NOMAD_ADDR"] = "http://127.0.0.1:1"
	r = e.step(strings.TrimSuffix(planFailed, " || true"), 1)
	e.Vars["NOMAD_ADDR"] = addr
	failed := e.read("plan.md")
	for _, want := range []string{"<!-- nrun-plan: drain-node-pool -->\n", "Plan failed", "Cannot reach Nomad"} {
		if !strings.Contains(failed, want) {
			t.Errorf("the failure comment lacks %q:\n%s\n%s", want, failed, r)
		}
	}

	// The cluster moves between review and merge: b1's ModifyIndex,
	// recorded in the plan's fingerprint, changes.
	setEligible(t, e.Nomad(), []*nomad.NodeListStub{b1}, false)
	r = e.step(apply, 1)
	msgs := streamMessages(t, e.read("apply.jsonl"))
	if !hasStale(msgs, "node b1") {
		t.Fatalf("apply of the stale plan: no diagnostic naming node b1 as stale:\n%s", r)
	}
	for _, m := range msgs {
		if m.Type == "run_start" || m.Type == "action_start" {
			t.Fatalf("apply of a stale plan started work:\n%s", r)
		}
	}

	// A new plan of the moved cluster, made as the workflow makes it
	// (without -detailed-exitcode: 0 with work too), applies.
	e.step(strings.Replace(plan, " -detailed-exitcode", "", 1), 0)
	r = e.step(apply, 0)
	msgs = streamMessages(t, e.read("apply.jsonl"))
	last := msgs[len(msgs)-1]
	if last.Type != "apply_summary" || last.Summary == nil || last.Summary.ExitCode != 0 {
		t.Fatalf("apply: the last message is not an apply_summary with exit_code 0:\n%s", r)
	}
	n, _, err := e.Nomad().Nodes().Info(b1.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.DrainStrategy != nil || n.SchedulingEligibility != nomad.NodeSchedulingIneligible {
		t.Errorf("after the apply b1 should be drained and ineligible: drain %v, eligibility %s", n.DrainStrategy, n.SchedulingEligibility)
	}
}

// step runs one line of the workflow as a step of it runs it (bash -e
// -o pipefail) in e.Dir and fails the test unless it exits with code.
func (e *env) step(line string, code int) e2etest.Result {
	e.T.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", line)
	cmd.Dir, cmd.Env = e.Dir, e.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := e2etest.Result{Args: []string{"(bash)", line}, Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		e.T.Fatalf("run %s: %v", line, err)
	}
	e.T.Logf("%s: exit %d after %s", line, r.Code, r.Took.Round(time.Millisecond))
	if r.Code != code {
		e.T.Fatalf("want exit %d\n%s", code, r)
	}
	return r
}

// read returns a file a step wrote in e.Dir.
func (e *env) read(name string) string {
	e.T.Helper()
	b, err := os.ReadFile(filepath.Join(e.Dir, name))
	if err != nil {
		e.T.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// streamMessage is the part of an apply -json message the test reads.
type streamMessage struct {
	Type       string `json:"type"`
	Diagnostic *struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
	} `json:"diagnostic"`
	Summary *struct {
		ExitCode int `json:"exit_code"`
	} `json:"summary"`
}

func streamMessages(t *testing.T, stream string) []streamMessage {
	t.Helper()
	var out []streamMessage
	for _, line := range strings.Split(strings.TrimSpace(stream), "\n") {
		var m streamMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("apply -json printed a line that is not a message: %q: %v", line, err)
		}
		out = append(out, m)
	}
	if len(out) == 0 || out[0].Type != "version" {
		t.Fatalf("the stream does not start with a version message:\n%s", stream)
	}
	return out
}

// hasStale reports whether msgs hold an error diagnostic saying the saved
// plan is stale because of subject.
func hasStale(msgs []streamMessage, subject string) bool {
	for _, m := range msgs {
		if m.Type == "diagnostic" && m.Diagnostic != nil && m.Diagnostic.Severity == "error" &&
			strings.Contains(m.Diagnostic.Summary, "Saved plan is stale") && strings.Contains(m.Diagnostic.Summary, subject) {
			return true
		}
	}
	return false
}
