package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	// Rules maps each policy name to its rules (the policy HCL); Nomad
	// only: Consul serves them to acl:read only (see ConsulAuthorize).
	Rules map[string]string
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
// (/v1/acl/token/self): its identity, policies and roles. Consul serves
// policies' rules to acl:read only, so what the token may do is asked of
// Consul with ConsulAuthorize instead. It returns nil and no error when
// Consul's ACLs are disabled.
func (c *Client) ConsulToken(ctx context.Context) (*Token, error) {
	q := (&consul.QueryOptions{}).WithContext(ctx)
	self, _, err := c.consul.ACL().TokenReadSelf(q)
	if err != nil {
		if strings.Contains(err.Error(), "ACL support disabled") {
			return nil, nil
		}
		return nil, c.consulErr("read the token's own identity (/v1/acl/token/self)", err)
	}
	t := &Token{System: "consul", AccessorID: self.AccessorID, Name: self.Description, ExpirationTime: self.ExpirationTime}
	for _, l := range self.Policies {
		if l != nil {
			t.Policies = append(t.Policies, l.Name)
			t.Management = t.Management || l.ID == consulGlobalManagement
		}
	}
	for _, r := range self.Roles {
		if r != nil {
			t.Policies = append(t.Policies, "role "+r.Name)
		}
	}
	return t, nil
}

// ConsulAccess is one question to Consul's authorizer: may the token have
// Access ("read", "write") on Resource ("node", "operator", ...), on every
// name when Segment is "" (a prefix "" rule)?
type ConsulAccess struct {
	Resource string
	Segment  string `json:",omitempty"`
	Access   string
}

// ConsulAuthorize asks Consul whether the token nrun calls it with has
// each access (/v1/internal/acl/authorize, the endpoint Consul's UI uses):
// Consul evaluates its own policies, roles and identities, which the token
// itself may not read.
func (c *Client) ConsulAuthorize(ctx context.Context, reqs []ConsulAccess) ([]bool, error) {
	// A POST, which the Consul API module's raw client cannot send.
	body, err := json.Marshal(reqs)
	if err != nil {
		return nil, err
	}
	cc := c.consulConf
	u := url.URL{Scheme: cc.Scheme, Host: cc.Address, Path: "/v1/internal/acl/authorize"}
	if cc.Datacenter != "" {
		u.RawQuery = url.Values{"dc": {cc.Datacenter}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, c.consulErr("ask Consul what the token may do", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if cc.Token != "" {
		req.Header.Set("X-Consul-Token", cc.Token)
	}
	resp, err := cc.HttpClient.Do(req)
	if err != nil {
		return nil, c.consulErr("ask Consul what the token may do (/v1/internal/acl/authorize)", err)
	}
	defer resp.Body.Close()
	var out []struct{ Allow bool }
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, c.consulErr("ask Consul what the token may do (/v1/internal/acl/authorize)",
			fmt.Errorf("Unexpected response code: %d (%s)", resp.StatusCode, bytes.TrimSpace(msg)))
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out) != len(reqs) {
		return nil, c.consulErr("ask Consul what the token may do (/v1/internal/acl/authorize)",
			fmt.Errorf("the authorizer answered %d results for %d questions (%v)", len(out), len(reqs), err))
	}
	allow := make([]bool, len(out))
	for i, o := range out {
		allow[i] = o.Allow
	}
	return allow, nil
}
