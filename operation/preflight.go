package operation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/acl"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// checkedToken is one cluster's answer to the preflight: its token, or
// nil when the cluster's ACLs are disabled.
type checkedToken struct {
	API   lang.API
	Token *cluster.Token
}

// preflight reads the identity of the tokens nrun calls each cluster with
// (and the rules of their policies) and checks every capability the
// runbook needs against them: a missing one is an error naming the step,
// the call and the capability; a management token passes. A cluster
// whose ACLs are disabled is returned with a nil token and not checked.
// It runs before the cluster is read, so a token that lacks what the read
// needs is reported as such; tokenExpiry and recordIdentities finish the
// job once the plan is made. extra are needs beyond the runbook's: the
// backend's (acl.BackendNeeds), so that a token that cannot keep the lock
// and the runs is refused before the change window, not at its first
// write.
func preflight(ctx context.Context, rb *lang.Runbook, inputs map[string]cty.Value, getenv func(string) string, extra []acl.Need) ([]checkedToken, hcl.Diagnostics) {
	needs := append(acl.Needs(rb), extra...)
	apis := map[lang.API]bool{}
	for _, n := range needs {
		apis[n.Cap.API] = true
	}
	if len(apis) == 0 {
		return nil, nil
	}
	cfg, diags := planner.ClusterConfig(rb, inputs)
	if diags.HasErrors() {
		return nil, diags
	}
	var opts []cluster.Option
	if getenv != nil {
		opts = append(opts, cluster.WithGetenv(getenv))
	}
	c, err := cluster.New(cfg, opts...)
	if err != nil {
		return nil, append(diags, cluster.Diagnostics(err)...)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ns := acl.Namespace(rb)
	var out []checkedToken
	for _, api := range []lang.API{lang.APINomad, lang.APIConsul} {
		if !apis[api] {
			continue
		}
		var tok *cluster.Token
		if api == lang.APINomad {
			tok, err = c.NomadToken(ctx)
		} else {
			tok, err = c.ConsulToken(ctx)
		}
		if err != nil {
			diags = append(diags, cluster.Diagnostics(err)...)
			continue
		}
		out = append(out, checkedToken{API: api, Token: tok})
		switch {
		case tok == nil || tok.Management:
		case api == lang.APIConsul:
			diags = append(diags, checkConsulToken(ctx, c, tok, needs)...)
		default:
			diags = append(diags, checkToken(api, tok, needs, ns)...)
		}
	}
	return out, diags
}

// tokenExpiry is an error for each token that has expired or expires
// before the plan's timeouts are up, counted from now.
func tokenExpiry(toks []checkedToken, p *planner.Plan, now time.Time) hcl.Diagnostics {
	var diags hcl.Diagnostics
	deadline := now.Add(planDuration(p))
	for _, ct := range toks {
		tok := ct.Token
		if tok == nil || tok.ExpirationTime == nil {
			continue
		}
		noun, who := tokenWho(ct.API, tok)
		switch e := *tok.ExpirationTime; {
		case !e.After(now):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "The " + noun + " token has expired",
				Detail: fmt.Sprintf("%s expired at %s. Use a token that is valid for the whole run.", who, e.UTC().Format(time.RFC3339))})
		case e.Before(deadline):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "The " + noun + " token expires before the run's timeouts are up",
				Detail: fmt.Sprintf("%s expires at %s, before %s, when the plan's step timeouts (%s in all) would be up. A run that outlives its token fails half done; use a token that is valid for longer.", who, e.UTC().Format(time.RFC3339), deadline.UTC().Format(time.RFC3339), deadline.Sub(now).Round(time.Second))})
		}
	}
	return diags
}

// recordIdentities puts the checked identities in the plan: who, never
// the secret.
func recordIdentities(toks []checkedToken, p *planner.Plan) {
	for _, ct := range toks {
		id := planner.Identity{System: string(ct.API), ACLDisabled: ct.Token == nil}
		if t := ct.Token; t != nil {
			id.AccessorID, id.Name, id.Management, id.Policies, id.ExpirationTime = t.AccessorID, t.Name, t.Management, t.Policies, t.ExpirationTime
		}
		p.Cluster.Identities = append(p.Cluster.Identities, id)
	}
}

func tokenWho(api lang.API, tok *cluster.Token) (noun, who string) {
	noun = map[lang.API]string{lang.APINomad: "Nomad", lang.APIConsul: "Consul"}[api]
	return noun, fmt.Sprintf("The %s token (accessor %s%s)", noun, tok.AccessorID, policyList(tok))
}

// planDuration is how long the plan may run: the sum of its instances'
// timeouts (instances without one count nothing).
func planDuration(p *planner.Plan) time.Duration {
	var d time.Duration
	for _, in := range p.Instances {
		d += time.Duration(in.Timeout)
	}
	return d
}

// checkToken checks the needs on api against one token.
func checkToken(api lang.API, tok *cluster.Token, needs []acl.Need, ns string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	noun, who := tokenWho(api, tok)
	if tok.Management {
		return diags
	}
	g, pd := acl.ParseRules(api, tok.Rules)
	for _, d := range pd {
		d.Severity = hcl.DiagWarning
		d.Summary = "Cannot read a rule of the " + noun + " token's policies: " + d.Summary
		d.Subject, d.Context = nil, nil
		diags = append(diags, d)
	}
	return append(diags, missingDiags(api, who, acl.Check(needs, g, ns))...)
}

// checkConsulToken asks Consul's authorizer about every resource the
// needs touch, at read and write, and checks the needs against the
// answers.
func checkConsulToken(ctx context.Context, c *cluster.Client, tok *cluster.Token, needs []acl.Need) hcl.Diagnostics {
	var reqs []cluster.ConsulAccess
	asked := map[[3]string]bool{}
	for _, n := range needs {
		res, seg, _, ok := acl.Access(n.Cap.Rule)
		if n.Cap.API != lang.APIConsul || !ok {
			continue
		}
		for _, lvl := range []string{"read", "write"} {
			if k := [3]string{res, seg, lvl}; !asked[k] {
				asked[k] = true
				reqs = append(reqs, cluster.ConsulAccess{Resource: res, Segment: seg, Access: lvl})
			}
		}
	}
	allowed := map[[3]string]bool{}
	if len(reqs) > 0 {
		ans, err := c.ConsulAuthorize(ctx, reqs)
		if err != nil {
			return cluster.Diagnostics(err)
		}
		for i, r := range reqs {
			allowed[[3]string{r.Resource, r.Segment, r.Access}] = ans[i]
		}
	}
	_, who := tokenWho(lang.APIConsul, tok)
	return missingDiags(lang.APIConsul, who, acl.CheckAuthorized(needs, lang.APIConsul, allowed))
}

// missingDiags is one error per part and capability the token lacks.
func missingDiags(api lang.API, who string, missing []acl.Missing) hcl.Diagnostics {
	var diags hcl.Diagnostics
	noun := map[lang.API]string{lang.APINomad: "Nomad", lang.APIConsul: "Consul"}[api]
	seen := map[string]bool{}
	for _, m := range missing {
		if k := m.Need.Who + " " + m.Need.Cap.Rule; seen[k] {
			continue
		} else {
			seen[k] = true
		}
		var d *hcl.Diagnostic
		if m.Need.Cap.Rule == "management" {
			d = &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("%s needs a %s management token", m.Need.Who, noun),
				Detail: fmt.Sprintf("%s %s: needs a %s management token (no policy grants it). %s is not one. Run it with a management token, or leave the step out.", m.Need.Who, m.Need.What, noun, who)}
		} else {
			res, _, _ := strings.Cut(m.Need.Cap.Rule, ":")
			need := strings.ReplaceAll(strings.TrimPrefix(m.Need.Cap.Rule, res+":"), ":", " ")
			if parts := strings.Split(m.Need.Cap.Rule, ":"); len(parts) == 3 && strings.HasSuffix(res, "_prefix") {
				need = fmt.Sprintf("%q %s", parts[1], parts[2]) // key_prefix "nrun/x/" write
			}
			hint := "'nrun policy' prints the policy the runbook needs"
			if m.Need.Who == acl.BackendWho {
				hint = fmt.Sprintf("'nrun policy -backend=%s' prints the policy the runbook and its backend need (README \"Team use: backends\")", strings.ToLower(noun))
			}
			d = &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("The %s token lacks %s", noun, m.Need.Cap.Rule),
				Detail: fmt.Sprintf("%s %s: needs %s %s; the token's policies grant %s. %s. %s.", m.Need.Who, m.Need.What, res, need, m.Has, who, hint)}
		}
		if m.Need.Range != (hcl.Range{}) {
			r := m.Need.Range
			d.Subject = &r
		}
		diags = append(diags, d)
	}
	return diags
}

func policyList(t *cluster.Token) string {
	if len(t.Policies) == 0 {
		return ", no policies"
	}
	return ", policies " + strings.Join(t.Policies, ", ")
}
