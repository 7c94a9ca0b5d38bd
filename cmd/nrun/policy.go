package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nrun-dev/nrun/acl"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/operation"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "policy", Synopsis: "Print the smallest ACL policies a runbook needs", Run: runPolicy})
}

const policyHelp = `Usage: nrun policy [options] [PATH]

  Prints, for Nomad and for Consul (each only when the runbook calls it),
  the smallest ACL policy, in the product's own policy HCL, that covers
  every step (action, preconditions, waits), data source, and nrun's own
  read of the cluster, which plan, apply and every wait make. Above each
  rule a comment names, per level or capability, what needs it ("cluster
  read" is nrun's own read). Last it says which steps need a management
  token: no policy grants what they call (Nomad's snapshot save, Raft
  peer removal and leadership transfer; Consul's snapshot save).

  No cluster is read. The namespace of Nomad's namespace rules is the
  runbook's nomad block namespace when it is a literal, "default" without
  one, and "*" when it is an expression. A check whose cluster is known
  only at plan counts for both products. 'nrun plan' checks a token
  against the same needs (its preflight).

  Apply a policy with, for example:
    nrun policy -api nomad PATH > nomad.hcl
    nomad acl policy apply -description "nrun NAME" nrun-NAME nomad.hcl
    nrun policy -api consul PATH > consul.hcl
    consul acl policy create -name nrun-NAME -rules @consul.hcl

  PATH is a .nrun.hcl file or a directory holding one runbook; it
  defaults to the current directory.

Options:

  -api NAME          Print the policy of one product only: nomad or
                     consul. The output is then a policy file as it is.
  -backend=KIND      Add what the backend needs (default: the runbook's
                     backend block, else local, which needs nothing):
                     consul: key_prefix "PATH/" write and session_prefix
                     "" write; nomad: read, list, write and destroy on
                     the variables PATH/* (README "Team use: backends").
  -json              Print one JSON object instead (format_version "1"):
                     {"format_version","runbook","apis":[{"api","rules":
                     [{"resource","policy","capabilities","uses":[{"who",
                     "what","rule"}]}],"management":[{"who","what",
                     "rule"}],"hcl"}]}.
  -no-color          Disable colour in diagnostics.
  -var 'NAME=VALUE'  Set an input variable (the runbook is validated
                     first). Repeatable.
  -var-file FILE     Read input variables from an HCL file. Repeatable.

Exit codes:
  0  the policy was printed
  1  the runbook is invalid, or bad usage
`

// policyArgs are the parsed flags of `nrun policy`.
type policyArgs struct {
	API      string
	JSON     bool
	NoColor  bool
	Backend  string
	Vars     []string
	VarFiles []string
	Path     string
}

func parsePolicyArgs(args []string) (policyArgs, error) {
	var a policyArgs
	fs := newFlagSet("policy")
	fs.StringVar(&a.API, "api", "", "")
	fs.BoolVar(&a.JSON, "json", false, "")
	fs.StringVar(&a.Backend, "backend", "", "")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	fs.Var((*varFlag)(&a.Vars), "var", "")
	fs.Var((*repeated)(&a.VarFiles), "var-file", "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	switch a.API {
	case "", string(lang.APINomad), string(lang.APIConsul):
	default:
		return a, fmt.Errorf("-api must be nomad or consul, not %q", a.API)
	}
	switch fs.NArg() {
	case 0:
		a.Path = "."
	case 1:
		a.Path = fs.Arg(0)
	default:
		return a, fmt.Errorf("one PATH at most, got %s", strings.Join(fs.Args(), " "))
	}
	return a, nil
}

func runPolicy(s *streams, args []string) int {
	a, err := parsePolicyArgs(args)
	if err != nil {
		return usageError(s, "policy", policyHelp, err)
	}
	c := checkRunbook(s, a.Path, a.Vars, a.VarFiles)
	views.Diagnostics(s.Stderr, c.Diags, c.Files, views.DiagnosticsOptions{Color: diagColor(s, a.NoColor), Width: views.DiagnosticWidth})
	if c.Runbook == nil || c.Diags.HasErrors() {
		return exitError
	}
	needs := acl.Needs(c.Runbook)
	bcfg, err := operation.BackendConfig(c.Runbook, a.Path, operation.BackendChoice{Kind: a.Backend}, nil, "", s.Getenv)
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun policy: %v\n", err)
		return exitError
	}
	needs = append(needs, acl.BackendNeeds(string(bcfg.Kind), bcfg.Path)...)
	p := acl.Build(needs, acl.Namespace(c.Runbook))
	if a.API != "" {
		var only []acl.APIPolicy
		for _, ap := range p.APIs {
			if string(ap.API) == a.API {
				only = append(only, ap)
			}
		}
		p.APIs = only
	}
	name := ""
	if c.Runbook.Meta != nil {
		name = c.Runbook.Meta.Name
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(a.Path), ".nrun.hcl")
	}
	if a.JSON {
		err = views.PolicyJSON(s.Stdout, name, p)
	} else {
		err = views.PolicyText(s.Stdout, name, p, lang.API(a.API))
	}
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun policy: %v\n", err)
		return exitError
	}
	return exitOK
}
