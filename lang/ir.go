package lang

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/addrs"
)

// Runbook is the IR of one runbook: one file, or all .nrun.hcl files of a
// directory. Slices keep declaration order (files sorted by name, then
// position in file), which is the deterministic order used everywhere.
type Runbook struct {
	// Meta is the optional runbook "NAME" block.
	Meta *RunbookMeta

	Variables  []*Variable
	Locals     []*Local
	Nomad      *NomadConfig  // nil when absent
	Consul     *ConsulConfig // nil when absent
	Backend    *Backend      // nil when absent (the local backend)
	Terraforms []*Terraform
	Data       []*DataSource
	Steps      []*Step // top-level steps only; inner steps hang off Step.Steps
	Outputs    []*Output

	// Files maps each source file name to its parsed file, so diagnostics
	// can be printed with source snippets.
	Files map[string]*hcl.File

	// InputRanges maps a variable name to where its input value was set
	// (a -var-file attribute, or a synthetic "-var" range). InputValues
	// fills it; validation errors about a value point there.
	InputRanges map[string]hcl.Range
}

// RunbookMeta is the `runbook "NAME" {}` block.
type RunbookMeta struct {
	Name        string
	Description string
	// MaxInstances and MaxTotalInstances raise or lower the instance
	// caps; 0 means the default (see Runbook.InstanceLimits).
	MaxInstances      int
	MaxTotalInstances int
	DeclRange         hcl.Range
	// AttrRanges has the range of every attribute written in the block
	// (name = value), by name, so later stages can point at one.
	AttrRanges map[string]hcl.Range
}

// Variable is a `variable "NAME" {}` block, as in Terraform.
type Variable struct {
	Name        string
	Type        cty.Type  // cty.DynamicPseudoType when no type was given
	Default     cty.Value // cty.NilVal when there is no default (required)
	Description string
	Sensitive   bool
	Validations []*VariableValidation
	DeclRange   hcl.Range
	// DefaultRange is the default expression's range, zero when none.
	DefaultRange hcl.Range
	// AttrRanges has the range of every attribute written in the block
	// (name = value), by name, so later stages can point at one.
	AttrRanges map[string]hcl.Range
}

// VariableValidation is a `validation {}` block inside a variable.
type VariableValidation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Local is one attribute of a `locals {}` block.
type Local struct {
	Name      string
	Expr      hcl.Expression
	DeclRange hcl.Range
}

// NomadConfig is the optional `nomad {}` block. Each field is nil when not
// set; the standard NOMAD_* environment variables fill the gaps. There is
// deliberately no token attribute: tokens come only from NOMAD_TOKEN.
type NomadConfig struct {
	Address       hcl.Expression
	Region        hcl.Expression
	Namespace     hcl.Expression
	CACert        hcl.Expression
	ClientCert    hcl.Expression
	ClientKey     hcl.Expression
	TLSServerName hcl.Expression
	TLSSkipVerify hcl.Expression
	DeclRange     hcl.Range
}

// ConsulConfig is the optional `consul {}` block. Each field is nil when not
// set; CONSUL_HTTP_* environment variables fill the gaps. Tokens come only
// from CONSUL_HTTP_TOKEN.
type ConsulConfig struct {
	Address       hcl.Expression
	Scheme        hcl.Expression
	Datacenter    hcl.Expression
	CACert        hcl.Expression
	ClientCert    hcl.Expression
	ClientKey     hcl.Expression
	TLSServerName hcl.Expression
	TLSSkipVerify hcl.Expression
	DeclRange     hcl.Range
}

// Terraform is a `terraform "NAME" { dir = ... }` working directory.
type Terraform struct {
	Name      string
	Dir       hcl.Expression
	DeclRange hcl.Range
}

// DataSourceType names a kind of inventory read at plan time.
type DataSourceType string

// The data source types.
const (
	DataNomadServers  DataSourceType = "nomad_servers"
	DataNomadNodes    DataSourceType = "nomad_nodes"
	DataConsulServers DataSourceType = "consul_servers"
)

// DataSource is a `data "TYPE" "NAME" {}` block.
type DataSource struct {
	Type DataSourceType
	Name string
	// Filters holds the block's attributes by name (node_pool, datacenter,
	// node_class, meta, name, status for nomad_nodes), each checked against
	// the type's schema.
	Filters   map[string]*hcl.Attribute
	DeclRange hcl.Range
	TypeRange hcl.Range
}

// Addr returns "data.TYPE.NAME".
func (d *DataSource) Addr() string { return "data." + string(d.Type) + "." + d.Name }

// Order is a step's `order` attribute.
type Order string

// Orders.
const (
	OrderDefault    Order = ""            // key order (sorted)
	OrderLeaderLast Order = "leader_last" // the live leader's instance runs last
)

// OnFailure is a step's `on_failure` attribute.
type OnFailure string

// On-failure policies.
const (
	OnFailureAbort    OnFailure = "abort"
	OnFailureContinue OnFailure = "continue"
	OnFailurePause    OnFailure = "pause"
)

// StepRef is a reference from one step to another, with the range of the
// referring expression or depends_on element.
type StepRef struct {
	Addr  addrs.Step
	Range hcl.Range
}

// Step is a `step "NAME" {}` block. A step has exactly one Action, or inner
// Steps (a composite step), never both.
type Step struct {
	Addr  addrs.Step
	Name  string
	Outer *Step // the composite step this one is nested in, or nil

	// Enabled is the enabled argument, a bool known at plan; nil when
	// absent (the step runs). Never set on inner steps.
	Enabled hcl.Expression
	// Description says what the step is for, for reviewers of the plan;
	// "" when absent.
	Description string
	ForEach     hcl.Expression // nil when absent; never set on inner steps
	Order       Order
	OrderRange  hcl.Range
	MaxParallel int // default 1; 0 when MaxParallelExpr decides
	// MaxParallelExpr is max_parallel when it is an expression (variables,
	// locals, data) rather than a literal: the planner evaluates it
	// (MaxParallelValue). Nil for a literal or when absent.
	MaxParallelExpr hcl.Expression
	Target          hcl.Expression // nil when absent
	Timeout         time.Duration  // 0 when absent or when TimeoutExpr decides
	// TimeoutExpr is timeout when it is an expression, evaluated at plan
	// (DurationValue); nil for a literal or when absent.
	TimeoutExpr hcl.Expression
	OnFailure   OnFailure // default abort
	// OnFailureSet is true when the step sets on_failure itself. An inner
	// step that does not inherits its composite's (see the planner).
	OnFailureSet bool
	// MaxFailures is the for_each step's failure budget, nil when absent
	// (then the first failure applies on_failure).
	MaxFailures   *FailureBudget
	Retry         *Retry       // nil when absent
	AllowUnsafe   *AllowUnsafe // nil when absent
	DependsOn     []StepRef    // explicit depends_on, resolved to addresses
	Refs          []StepRef    // implicit: step.x references in expressions
	Preconditions []*Check
	Action        *Action // nil for a composite step
	Waits         []*Check
	Steps         []*Step // inner steps of a composite, declaration order

	DeclRange hcl.Range // the `step "NAME"` header
	Body      hcl.Range // the whole block, for Context ranges
	// AttrRanges has the range of every attribute written in the block
	// (name = value), by name, so later stages can point at one.
	AttrRanges map[string]hcl.Range

	// dependsOn holds the depends_on traversals until resolveStepRefs
	// turns them into DependsOn.
	dependsOn []hcl.Traversal
}

// Retry is a step's `retry {}` block.
type Retry struct {
	Attempts  int
	Delay     time.Duration
	DeclRange hcl.Range
	// AttrRanges has the range of every attribute written in the block
	// (name = value), by name, so later stages can point at one.
	AttrRanges map[string]hcl.Range
}

// AllowUnsafe is a step's `allow_unsafe {}` block, which waives the named
// safety rules for that step. Reason is required.
type AllowUnsafe struct {
	Rules      []string
	RuleRanges []hcl.Range
	Reason     string
	DeclRange  hcl.Range
	// AttrRanges has the range of every attribute written in the block
	// (name = value), by name, so later stages can point at one.
	AttrRanges map[string]hcl.Range
}

// CheckKind says where a check block appeared.
type CheckKind int

// Check kinds.
const (
	KindPrecondition CheckKind = iota
	KindWait
)

// Check is a `precondition "NAME" {}`, a custom `precondition {}` or a
// `wait "NAME" {}` block.
type Check struct {
	Kind CheckKind
	// Name is the built-in check name; "" for a custom precondition.
	Name string
	// Args holds the check's arguments by name, validated against the
	// check's schema (see CheckSpecs). Timeout is not among them.
	Args map[string]*hcl.Attribute
	// Condition and ErrorMessage are set for a custom precondition only.
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	// Timeout is required on waits and optional (unused) on preconditions.
	Timeout time.Duration
	// TimeoutExpr is timeout when it is an expression, evaluated at plan
	// (DurationValue); nil for a literal or when absent.
	TimeoutExpr hcl.Expression
	// Interval is a wait's poll interval, 0 for the default (5s).
	Interval  time.Duration
	DeclRange hcl.Range
	NameRange hcl.Range
	// AttrRanges has the range of every attribute written in the block
	// (name = value), by name, so later stages can point at one.
	AttrRanges map[string]hcl.Range
}

// Action is a step's `action "TYPE" {}` block.
type Action struct {
	Type string
	// Args holds the action's arguments by name, validated against the
	// action's schema (see ActionSpecs).
	Args map[string]*hcl.Attribute
	// Effect is the declared effect of an exec action, or the effect the
	// built-in action type implies.
	Effect      Effect
	EffectRange hcl.Range // the effect attribute, or the action header
	DeclRange   hcl.Range
	TypeRange   hcl.Range
}

// Output is an `output "NAME" { value = ... }` block.
type Output struct {
	Name        string
	Value       hcl.Expression
	Description string
	Sensitive   bool
	DeclRange   hcl.Range
	// AttrRanges has the range of every attribute written in the block
	// (name = value), by name, so later stages can point at one.
	AttrRanges map[string]hcl.Range
}
