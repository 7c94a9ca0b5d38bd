package cluster

import (
	"context"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

// Token is the identity of the token nrun calls one cluster with and the
// rules of its policies, as the cluster answers them. It never holds the
// secret.
type Token struct {
	System     string // "nomad" or "consul"
	AccessorID string
	Name       string
	// Management: the token may do anything (Nomad type "management",
	// Consul's global-management policy).
	Management bool
	// Policies are the names of the token's policies, its roles' included.
	Policies []string
	// Rules maps each policy name to its rules (the policy HCL).
	// RulesUnread lists the policies whose rules the token may not read
	// (Consul serves policies to acl:read only).
	Rules       map[string]string
	RulesUnread []string
	// ExpirationTime is when the token expires, nil when it does not.
	ExpirationTime *time.Time
}

// consulGlobalManagement is the ID of Consul's built-in management policy.
const consulGlobalManagement = "00000000-0000-0000-0000-000000000001"

// NomadToken reads the token nrun calls Nomad with (/v1/acl/token/self),
// its roles and the rules of its policies. It returns nil and no error
// when Nomad's ACLs are disabled.
func (c *Client) NomadToken(ctx context.Context) (*Token, error) {
	q := (&nomad.QueryOptions{}).WithContext(ctx)
	self, _, err := c.nomad.ACLTokens().Self(q)
	if err != nil {
		if strings.Contains(err.Error(), "ACL support disabled") {
			return nil, nil
		}
		return nil, c.nomadErr("read the token's own identity (/v1/acl/token/self)", err)
	}
	t := &Token{System: "nomad", AccessorID: self.AccessorID, Name: self.Name,
		Management: self.Type == "management", ExpirationTime: self.ExpirationTime, Rules: map[string]string{}}
	names := append([]string(nil), self.Policies...)
	for _, r := range self.Roles {
		if r == nil {
			continue
		}
		role, _, err := c.nomad.ACLRoles().Get(r.ID, q)
		if err != nil {
			return nil, c.nomadErr("read the token's role "+r.Name, err)
		}
		for _, p := range role.Policies {
			if p != nil {
				names = append(names, p.Name)
			}
		}
	}
	for _, n := range names {
		if _, dup := t.Rules[n]; dup {
			continue
		}
		p, _, err := c.nomad.ACLPolicies().Info(n, q)
		if err != nil {
			return nil, c.nomadErr("read the token's policy "+n, err)
		}
		t.Policies = append(t.Policies, n)
		t.Rules[n] = p.Rules
	}
	return t, nil
}

// ConsulToken reads the token nrun calls Consul with
// (/v1/acl/token/self) and the rules of the policies it may read. It
// returns nil and no error when Consul's ACLs are disabled.
func (c *Client) ConsulToken(ctx context.Context) (*Token, error) {
	q := (&consul.QueryOptions{}).WithContext(ctx)
	self, _, err := c.consul.ACL().TokenReadSelf(q)
	if err != nil {
		if strings.Contains(err.Error(), "ACL support disabled") || strings.Contains(err.Error(), "ACL not found") && c.cfg.ConsulToken == "" {
			return nil, nil
		}
		return nil, c.consulErr("read the token's own identity (/v1/acl/token/self)", err)
	}
	t := &Token{System: "consul", AccessorID: self.AccessorID, Name: self.Description,
		ExpirationTime: self.ExpirationTime, Rules: map[string]string{}}
	for _, l := range self.Policies {
		if l == nil {
			continue
		}
		t.Policies = append(t.Policies, l.Name)
		if l.ID == consulGlobalManagement {
			t.Management = true
			continue
		}
		p, _, err := c.consul.ACL().PolicyRead(l.ID, q)
		if err != nil || p == nil {
			t.RulesUnread = append(t.RulesUnread, l.Name)
			continue
		}
		t.Rules[l.Name] = p.Rules
	}
	for _, r := range self.Roles {
		if r != nil {
			t.RulesUnread = append(t.RulesUnread, "role "+r.Name)
		}
	}
	return t, nil
}
