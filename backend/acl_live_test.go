package backend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/acl"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestBackendPolicyLive proves on a sandbox with mutual TLS and
// default-deny ACLs that the rules `nrun policy -backend` prints are
// enough for every backend operation (lock, run ID, mirror, fetch, list,
// abandon, prune, force-unlock), and that a token without them is refused.
func TestBackendPolicyLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	spec := sandbox.Spec{Servers: []sandbox.ServerSpec{{Name: "acl1"}}, ConsulServers: 1, Secure: true}
	c := sandboxtest.New(t, spec)
	env := map[string]string{}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	const path = "nrun/acl-test"
	policy := func(api lang.API) string {
		for _, ap := range acl.Build(acl.BackendNeeds(map[lang.API]string{lang.APINomad: "nomad", lang.APIConsul: "consul"}[api], path), "default").APIs {
			if ap.API == api {
				return ap.HCL
			}
		}
		t.Fatalf("no %s policy", api)
		return ""
	}

	ncfg := nomadapi.DefaultConfig()
	ncfg.Address, ncfg.SecretID = env["NOMAD_ADDR"], env["NOMAD_TOKEN"]
	ncfg.TLSConfig.CACert, ncfg.TLSConfig.ClientCert, ncfg.TLSConfig.ClientKey = env["NOMAD_CACERT"], env["NOMAD_CLIENT_CERT"], env["NOMAD_CLIENT_KEY"]
	nc, err := nomadapi.NewClient(ncfg)
	if err != nil {
		t.Fatal(err)
	}
	nomadToken := func(name, rules string) string {
		t.Helper()
		if _, err := nc.ACLPolicies().Upsert(&nomadapi.ACLPolicy{Name: name, Rules: rules}, nil); err != nil {
			t.Fatalf("policy %s: %v\n%s", name, err, rules)
		}
		tok, _, err := nc.ACLTokens().Create(&nomadapi.ACLToken{Name: name, Type: "client", Policies: []string{name}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok.SecretID
	}
	ccfg := consulapi.DefaultConfig()
	ccfg.Address, ccfg.Token = env["CONSUL_HTTP_ADDR"], env["CONSUL_HTTP_TOKEN"]
	ccfg.TLSConfig = consulapi.TLSConfig{CAFile: env["CONSUL_CACERT"], CertFile: env["CONSUL_CLIENT_CERT"], KeyFile: env["CONSUL_CLIENT_KEY"]}
	cc, err := consulapi.NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	consulToken := func(name, rules string) string {
		t.Helper()
		if _, _, err := cc.ACL().PolicyCreate(&consulapi.ACLPolicy{Name: name, Rules: rules}, nil); err != nil {
			t.Fatalf("policy %s: %v\n%s", name, err, rules)
		}
		tok, _, err := cc.ACL().TokenCreate(&consulapi.ACLToken{Policies: []*consulapi.ACLTokenPolicyLink{{Name: name}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok.SecretID
	}

	exercise := func(t *testing.T, be, forcer Backend) error {
		ctx := context.Background()
		l, err := be.Lock(ctx, "apply", LockOptions{Timeout: 30 * time.Second})
		if err != nil {
			return err
		}
		defer l.Release()
		if err := l.SetRun("r1"); err != nil {
			return err
		}
		recs := localJournal(t, 30, 1000)
		m, err := be.Mirror(ctx, "r1", nil, l)
		if err != nil {
			return err
		}
		if err := m.Append(recs); err != nil {
			return err
		}
		if _, err := be.Fetch(ctx, "r1"); err != nil {
			return err
		}
		runs, err := be.Runs(ctx)
		if err != nil {
			return err
		}
		if len(runs) != 1 || runs[0].Err != nil {
			t.Errorf("runs %+v", runs)
		}
		if _, err := be.Abandon(ctx, "r1", l); err != nil {
			return err
		}
		if runs, err := be.Runs(ctx); err != nil || len(runs) != 1 || runs[0].Abandoned == nil {
			t.Errorf("runs after abandon %+v %v", runs, err)
		}
		if err := Prune(ctx, be); err != nil {
			return err
		}
		if _, err := forcer.ForceUnlock(ctx, l.Holder().ID); err != nil {
			return err
		}
		if l.(*remoteLock).ls.renew(ctx) == nil {
			t.Errorf("the lock still renews after force-unlock")
		}
		if hist, err := LockHistory(ctx, be); err != nil || len(hist) != 1 {
			t.Errorf("history %v %v", hist, err)
		}
		return nil
	}
	open := func(kind Kind, p, tokenVar, token string) Backend {
		be, err := Open(Config{Kind: kind, Path: p, LockTTL: 10 * time.Second, LockDelay: time.Second, WriteWait: 5 * time.Second,
			Getenv: func(k string) string {
				if k == tokenVar {
					return token
				}
				return env[k]
			}})
		if err != nil {
			t.Fatal(err)
		}
		return be
	}

	t.Run("nomad", func(t *testing.T) {
		// Nomad shows a lock's ID to its holder and to management tokens
		// only: force-unlock needs a management token.
		tok := nomadToken("nrun-backend", policy(lang.APINomad))
		be := open(Nomad, path, "NOMAD_TOKEN", tok)
		if err := exercise(t, be, open(Nomad, path, "NOMAD_TOKEN", env["NOMAD_TOKEN"])); err != nil {
			t.Fatalf("with the printed policy: %v", err)
		}
		ro := nomadToken("nrun-backend-ro", strings.Replace(policy(lang.APINomad), `"write", `, "", 1))
		if err := exercise(t, open(Nomad, path+"-ro", "NOMAD_TOKEN", ro), nil); err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("without variables write: %v, want a permission error", err)
		}
	})
	t.Run("consul", func(t *testing.T) {
		tok := consulToken("nrun-backend", policy(lang.APIConsul))
		be := open(Consul, path, "CONSUL_HTTP_TOKEN", tok)
		if err := exercise(t, be, be); err != nil {
			t.Fatalf("with the printed policy: %v", err)
		}
		noSession := consulToken("nrun-backend-nosession", strings.Replace(policy(lang.APIConsul), "session_prefix", "node_prefix", 1))
		err := exercise(t, open(Consul, path, "CONSUL_HTTP_TOKEN", noSession), nil)
		var le *LockedError
		if err == nil || errors.As(err, &le) || !strings.Contains(err.Error(), "403") {
			t.Errorf("without session write: %v, want a permission error", err)
		}
	})
}
