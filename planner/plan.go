package planner

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/lang"
)

// FormatVersion is the version of the plan model and its JSON form
// (docs/plan-json.md). Fields are only ever added within one version; a
// reader must ignore fields it does not know.
const FormatVersion = "1"

// Plan is a runbook resolved against one view of the cluster: every step
// instance with its target, resolved action arguments and the current result
// of its preconditions, the order they run in, and a fingerprint of the
// cluster facts the plan relies on. It is the output of Resolve, the input
// of the renderers in package views and of the executor, and it is what
// `nrun plan -out FILE` writes as JSON.
//
// A Plan knows nothing about terminals. It records no secret: sensitive
// variables appear only as a hash, and no source bytes are stored (apply
// re-reads the runbook and compares Runbook.SourceHash).
type Plan struct {
	FormatVersion string `json:"format_version"`

	Runbook   RunbookInfo `json:"runbook"`
	Variables []Variable  `json:"variables"`
	// InputSalt is the hex key of the variable hashes (Variable.Hash),
	// random per plan unless ResolveOptions.Salt fixes it.
	InputSalt string      `json:"input_salt,omitempty"`
	Cluster   ClusterInfo `json:"cluster"`

	// Steps has one entry per top-level step, in graph order.
	Steps []StepInfo `json:"steps"`
	// Instances are every step instance in an execution order: each comes
	// after everything it depends on. A composite step's instance comes
	// first, followed by its inner instances in their own graph order.
	Instances []*Instance `json:"instances"`
	// Waves groups the addresses of the instances that carry an action
	// (leaf instances; composite instances are containers and appear in
	// no wave) by when they may run: every instance of wave k depends only
	// on instances of earlier waves. It honours depends_on, step.x
	// references, the inner DAG of composite steps, order and max_parallel
	// (a step's instances run in batches of max_parallel, each batch after
	// the previous one has finished).
	Waves [][]string `json:"waves"`

	// Waivers lists every safety rule waived by allow_unsafe, in step
	// order.
	Waivers []PlanWaiver `json:"waivers"`
	// Diagnostics are the findings of the analysis at plan time (safety
	// warnings with the live counts). A plan with error diagnostics is
	// never saved by `nrun plan`.
	Diagnostics []Diagnostic `json:"diagnostics"`

	Fingerprint Fingerprint `json:"fingerprint"`
	Summary     Summary     `json:"summary"`

	// jobRuns are the evaluated nomad_job_run arguments by instance
	// address, for PreviewJobs (preview_job.go); never serialised.
	jobRuns map[string]*jobRunInput
	// scope is the evaluation scope Resolve filled from its view; never
	// serialised.
	scope *lang.Scope
}

// Scope returns the evaluation scope the plan was resolved in: variables,
// locals and data sources filled from the cluster view Resolve was given.
// It is nil for a plan read from a file. The executor evaluates in it, so
// plan and apply see the same data sources.
func (p *Plan) Scope() *lang.Scope {
	if p == nil {
		return nil
	}
	return p.scope
}

// RunbookInfo identifies the runbook a plan was made from.
type RunbookInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Paths are the source file names, sorted.
	Paths []string `json:"paths"`
	// SourceHash is "sha256:" + hex of SHA-256 over every source file,
	// in sorted name order, of name, NUL, length, NUL, bytes (SourceHash).
	SourceHash string `json:"source_hash"`
}

// Variable is one input variable as the plan used it.
type Variable struct {
	Name string `json:"name"`
	// Value is the value rendered for people, "(sensitive)" for a
	// sensitive variable.
	Value     string `json:"value"`
	Sensitive bool   `json:"sensitive,omitempty"`
	// Type is the cty JSON type of the value; JSON its cty JSON encoding.
	// Both are absent for a sensitive variable: apply must be given it
	// again (-var, -var-file) and compares it against Hash.
	Type json.RawMessage `json:"type,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
	// Hash is "hmac-sha256:" + hex of HMAC-SHA256 over the value's cty
	// JSON encoding, keyed with Plan.InputSalt, so a hash says nothing
	// outside its plan. It is recorded for every variable.
	Hash string `json:"hash"`
}

// ClusterInfo summarises the view the plan was made from.
type ClusterInfo struct {
	// Taken is when the view was read (cluster.View.Taken).
	Taken  time.Time `json:"taken"`
	Nomad  *RaftInfo `json:"nomad,omitempty"`
	Consul *RaftInfo `json:"consul,omitempty"`
	// NotNeeded is set when the runbook reads and changes no cluster
	// (NeedsCluster is false): none was read, and the plan records no
	// fingerprint.
	NotNeeded bool `json:"not_needed,omitempty"`
	// Source says where the view came from, so a reviewer can tell a
	// plan made offline from one made against the cluster: "live",
	// "inventory" (a file written by nrun inventory; Inventory names it)
	// or absent when no cluster was read.
	Source ClusterSource `json:"source,omitempty"`
	// Inventory is the inventory file's path as it was given to nrun
	// plan -inventory; absent unless Source is "inventory".
	Inventory string `json:"inventory,omitempty"`
	// Identities are the tokens the preflight checked the plan's
	// capabilities against, one per cluster read live: who they are,
	// never their secrets. Absent for a plan made from an inventory.
	Identities []Identity `json:"identities,omitempty"`
}

// Identity is a token as the preflight found it.
type Identity struct {
	// System is "nomad" or "consul".
	System string `json:"system"`
	// ACLDisabled: the cluster has no ACLs; no token was checked.
	ACLDisabled bool   `json:"acl_disabled,omitempty"`
	AccessorID  string `json:"accessor_id,omitempty"`
	Name        string `json:"name,omitempty"`
	Management  bool   `json:"management,omitempty"`
	// Policies are the names of the token's policies: for Nomad its
	// roles' included, for Consul its roles as "role NAME".
	Policies []string `json:"policies,omitempty"`
	// ExpirationTime is when the token expires, absent when it does not.
	ExpirationTime *time.Time `json:"expiration_time,omitempty"`
}

// ClusterSource is where a plan's cluster view came from.
type ClusterSource string

// Cluster sources.
const (
	SourceLive      ClusterSource = "live"
	SourceInventory ClusterSource = "inventory"
)

// RaftInfo summarises one Raft cluster: Nomad's servers of the region or
// Consul's of the datacenter.
type RaftInfo struct {
	// Address is the API address the view was read from.
	Address string `json:"address"`
	// Region (Nomad) or datacenter (Consul).
	Region  string       `json:"region,omitempty"`
	Servers []ServerInfo `json:"servers"`
	// Leader is the leader's name, "" when there is none.
	Leader           string `json:"leader"`
	Voters           int    `json:"voters"`
	HealthyVoters    int    `json:"healthy_voters"`
	Quorum           int    `json:"quorum"`
	FailureTolerance int    `json:"failure_tolerance"`
	// Versions are the distinct server versions, sorted.
	Versions []string `json:"versions"`
	// Nodes counts the client nodes in the view (Nomad only).
	Nodes int `json:"nodes,omitempty"`
}

// ServerInfo is one server as the plan header shows it.
type ServerInfo struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
	Version string `json:"version"`
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
	Healthy bool   `json:"healthy"`
	// Status is the gossip status (alive, failed, left, "").
	Status string `json:"status"`
}

// StepInfo summarises one top-level step.
type StepInfo struct {
	Addr string `json:"addr"`
	// Description is the step's description argument, "" without one.
	Description string `json:"description,omitempty"`
	// Disabled is true when the step's enabled argument is false at plan:
	// the step has no instances and is shown as skipped, and the steps
	// that depend on it wait for what it depends on instead.
	// DisabledBy is the enabled expression's source text, the reason.
	Disabled   bool   `json:"disabled,omitempty"`
	DisabledBy string `json:"disabled_by,omitempty"`
	// ForEach is the for_each expression's source text, "" without
	// for_each.
	ForEach string `json:"for_each,omitempty"`
	// Instances counts the step's instances (composite: outer instances).
	Instances   int    `json:"instances"`
	Order       string `json:"order,omitempty"`
	MaxParallel int    `json:"max_parallel"`
	// MaxFailures is the step's failure budget as written ("2", "25%"),
	// "" without one.
	MaxFailures string `json:"max_failures,omitempty"`
	// DependsOn are the step addresses it waits for (depends_on and
	// references), sorted.
	DependsOn []string `json:"depends_on,omitempty"`
	// Inner lists a composite step's inner step addresses in their graph
	// order; empty for a step with an action.
	Inner []string `json:"inner,omitempty"`
}

// Glyph is what a step instance does to its target, as a rune whose value
// is the glyph printed in front of it (like terraform's plans.Action).
type Glyph rune

// Glyphs.
const (
	// GlyphRead reads or checks only (effect none, snapshots, approval,
	// sleep).
	GlyphRead Glyph = '='
	// GlyphChange changes the target in place: restart, stop, start,
	// eligibility, maintenance, leadership, job updates.
	GlyphChange Glyph = '~'
	// GlyphRemove removes or destroys: destroy, force-leave, remove-peer,
	// and a terraform_apply that declares destroys.
	GlyphRemove Glyph = '-'
	// GlyphCreate creates (terraform_apply).
	GlyphCreate Glyph = '+'
	// GlyphDrain drains a client node.
	GlyphDrain Glyph = '!'
	// GlyphRestore rolls a cluster's whole state back to a snapshot
	// (nomad_snapshot_restore, consul_snapshot_restore): everything written
	// since the snapshot is gone.
	GlyphRestore Glyph = '<'
)

// GlyphOf returns the glyph of an action effect: the catalog's
// (lang.Effect.Glyph), so the plan and the views cannot disagree on it.
func GlyphOf(e lang.Effect) Glyph { return Glyph(e.Glyph()) }

// String returns the glyph as a one-character string.
func (g Glyph) String() string {
	if g == 0 {
		return " "
	}
	return string(rune(g))
}

// MarshalText writes the glyph character.
func (g Glyph) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText reads one glyph character.
func (g *Glyph) UnmarshalText(b []byte) error {
	r := []rune(string(b))
	if len(r) != 1 {
		return fmt.Errorf("glyph %q: want one character", b)
	}
	switch Glyph(r[0]) {
	case GlyphRead, GlyphChange, GlyphRemove, GlyphCreate, GlyphDrain, GlyphRestore:
		*g = Glyph(r[0])
		return nil
	}
	return fmt.Errorf("unknown glyph %q", b)
}

// Instance is one step instance: a top-level step with its for_each key, a
// composite step's instance (Action nil, Inner set), or an inner step of a
// composite instance.
//
// In JSON, Addr and Step are their canonical strings
// (step.retire["s1"].step.stop, step.retire.step.stop).
type Instance struct {
	Addr addrs.Instance `json:"-"`
	Step addrs.Step     `json:"-"`
	// Description is the step's description argument (an inner
	// instance's is its inner step's), "" without one.
	Description string `json:"description,omitempty"`
	// Key is each.key, "" without for_each (see Addr.Key.Valid).
	Key string `json:"key,omitempty"`
	// Each is each.value as cty JSON with its cty JSON type, so a consumer
	// can rebuild the instance's scope; inner instances carry their
	// composite's. Nil without for_each, and when for_each is computed
	// from a sensitive variable (apply must evaluate it again).
	Each *EachValue `json:"each,omitempty"`

	Glyph  Glyph  `json:"glyph"`
	Target Target `json:"target"`
	// Action is nil for a composite instance.
	Action *ActionPlan `json:"action,omitempty"`
	// Inner are a composite instance's inner instance addresses.
	Inner []string `json:"inner,omitempty"`
	// Parent is the composite instance of an inner instance, "" otherwise.
	Parent string `json:"parent,omitempty"`

	Preconditions []CheckPlan `json:"preconditions,omitempty"`
	Waits         []CheckPlan `json:"waits,omitempty"`

	Timeout   Duration       `json:"timeout,omitempty"`
	OnFailure lang.OnFailure `json:"on_failure"`
	// OnFailureInherited is true for an inner instance whose step sets no
	// on_failure: OnFailure is then its composite's, and a failure of it
	// ends the composite instance (its later inner steps do not start)
	// whatever the policy; the policy says what the run does next.
	OnFailureInherited bool   `json:"on_failure_inherited,omitempty"`
	Retry              *Retry `json:"retry,omitempty"`

	// DependsOn are the addresses this instance waits for, sorted. An
	// instance address waits for that instance; the address of a step
	// with for_each (no key) waits for every instance of that step, inner
	// instances included. Batches from max_parallel appear as instance
	// addresses of the previous batch.
	DependsOn []string `json:"depends_on,omitempty"`
	// Wave is the index in Plan.Waves, -1 for a composite instance.
	Wave int `json:"wave"`
	// BlockedNow is true when a precondition would block if the instance
	// ran against the view the plan was made from.
	BlockedNow bool `json:"blocked_now,omitempty"`
}

// EachValue is each.value in cty JSON.
type EachValue struct {
	Type  json.RawMessage `json:"type"`
	Value json.RawMessage `json:"value"`
}

// Target is the object an instance acts on (the step's target, or the
// object its action names). Kind is "" when the instance has no cluster
// target (exec without target, approval, snapshot).
type Target struct {
	Kind    lang.TargetKind `json:"kind,omitempty"`
	ID      string          `json:"id,omitempty"`
	Name    string          `json:"name,omitempty"`
	Address string          `json:"address,omitempty"`
}

// ActionPlan is the resolved action of a leaf instance.
type ActionPlan struct {
	Type   string      `json:"type"`
	Effect lang.Effect `json:"effect"`
	// Args are the action's arguments, sorted by name.
	Args []Arg `json:"args"`
	// Terraform is a terraform_apply's Terraform plan summary, set by
	// PreviewTerraform (preview_terraform.go); nil before that pass and
	// for other actions.
	Terraform *TerraformPreview `json:"terraform,omitempty"`
	// Job is a nomad_job_run's preview (preview_job.go), nil for other
	// actions and for plans made without PreviewJobs.
	Job *JobPreview `json:"job,omitempty"`
	// Snapshot is a snapshot restore's preview (preview_snapshot.go): the
	// head of the file it restores as read at plan; nil for other actions.
	Snapshot *SnapshotPreview `json:"snapshot,omitempty"`
}

// Arg is one resolved argument.
type Arg struct {
	Name string `json:"name"`
	// Value is the value rendered in HCL-like syntax; "(known after
	// apply)" when it depends on something only known while applying
	// (step.x.output), "(sensitive)" when it uses a sensitive variable.
	Value     string `json:"value"`
	Known     bool   `json:"known"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// CheckPlan is one precondition or wait of an instance.
type CheckPlan struct {
	// Name is the check's name, or "custom" for a precondition with a
	// condition expression.
	Name string `json:"name"`
	Args []Arg  `json:"args,omitempty"`
	// Timeout and Interval are a wait's.
	Timeout  Duration `json:"timeout,omitempty"`
	Interval Duration `json:"interval,omitempty"`
	// Now is the precondition evaluated against the plan's view; nil for
	// waits.
	Now *CheckNow `json:"now,omitempty"`
	// Blocking is true when Now says the precondition would stop the
	// instance if it ran against the plan's view.
	Blocking bool `json:"blocking,omitempty"`
}

// CheckStatus is the state of a precondition at plan time.
type CheckStatus string

// Check statuses.
const (
	CheckOK CheckStatus = "ok"
	// CheckBlocked: the condition does not hold now.
	CheckBlocked CheckStatus = "blocked"
	// CheckUnknown: it cannot be decided before apply (it depends on an
	// earlier step, or on http_ok, which the plan does not probe).
	CheckUnknown CheckStatus = "unknown"
	// CheckHandled: it does not hold now, but the executor makes it hold
	// before the action (leader_not_target with transfer = true moves
	// leadership away first). It does not block.
	CheckHandled CheckStatus = "handled"
)

// CheckNow is a precondition's result against the plan's view.
type CheckNow struct {
	Status   CheckStatus `json:"status"`
	Observed string      `json:"observed,omitempty"`
	// Reason says why it blocks, or why it is unknown.
	Reason string `json:"reason,omitempty"`
}

// Retry is a step's retry block.
type Retry struct {
	Attempts int      `json:"attempts"`
	Delay    Duration `json:"delay"`
}

// PlanWaiver is one safety rule waived by allow_unsafe, as a plan records it.
type PlanWaiver struct {
	Step   string `json:"step"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// Used is true when the analysis found a violation it suppressed.
	Used bool `json:"used"`
	// Range is "file:line,col" of the waiver.
	Range string `json:"range"`
}

// Diagnostic is a diagnostic recorded in a plan.
type Diagnostic struct {
	Severity string `json:"severity"` // "error" or "warning"
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	// Rule is the safety rule ID, "" for other diagnostics.
	Rule string `json:"rule,omitempty"`
	// Range is "file:line,col", "" for a sourceless diagnostic.
	Range string `json:"range,omitempty"`
}

// Summary counts what the plan does.
type Summary struct {
	// Instances counts leaf instances (those with an action).
	Instances int `json:"instances"`
	// DisruptServers counts the distinct servers that leaf instances
	// restart, stop, start, destroy, force-leave or remove, and that
	// terraform_apply steps destroy.
	DisruptServers int `json:"disrupt_servers"`
	// DrainNodes counts the distinct client nodes drained.
	DrainNodes int `json:"drain_nodes"`
	// BlockedNow counts instances (composite ones included) with a
	// precondition that would block against the plan's view.
	BlockedNow int `json:"blocked_now"`
}

// Duration is a time.Duration that reads and writes itself as "5m0s".
type Duration time.Duration

// MarshalText writes the duration in time.Duration.String form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads time.ParseDuration syntax.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String is time.Duration's.
func (d Duration) String() string { return time.Duration(d).String() }

// instanceJSON carries Instance's typed addresses as strings.
type instanceJSON struct {
	Addr string `json:"addr"`
	Step string `json:"step"`
	*instanceFields
}

type instanceFields Instance

// MarshalJSON writes Addr and Step in their canonical string form.
func (i *Instance) MarshalJSON() ([]byte, error) {
	return json.Marshal(instanceJSON{Addr: i.Addr.String(), Step: i.Step.String(), instanceFields: (*instanceFields)(i)})
}

// UnmarshalJSON parses Addr and Step back.
func (i *Instance) UnmarshalJSON(b []byte) error {
	aux := instanceJSON{instanceFields: (*instanceFields)(i)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	a, err := addrs.ParseInstance(aux.Addr)
	if err != nil {
		return err
	}
	s, err := addrs.ParseStep(aux.Step)
	if err != nil {
		return err
	}
	i.Addr, i.Step = a, s
	return nil
}

// Instance returns the instance with that address, or nil. It scans the
// list; use InstancesByAddr to look up many.
func (p *Plan) Instance(addr string) *Instance {
	for _, in := range p.Instances {
		if in.Addr.String() == addr {
			return in
		}
	}
	return nil
}

// InstancesByAddr indexes the instances by address, for callers that look
// many up (Instance is a linear scan).
func (p *Plan) InstancesByAddr() map[string]*Instance {
	m := make(map[string]*Instance, len(p.Instances))
	for _, in := range p.Instances {
		m[in.Addr.String()] = in
	}
	return m
}
