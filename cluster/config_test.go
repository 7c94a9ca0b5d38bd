package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	cases := map[string]struct {
		cfg  Config
		env  map[string]string
		want Config
	}{
		"defaults": {
			want: Config{
				NomadAddress: DefaultNomadAddress, NomadAddressFrom: FromDefault,
				ConsulAddress: DefaultConsulAddress, ConsulScheme: "http", ConsulAddressFrom: FromDefault,
			},
		},
		"environment": {
			env: map[string]string{
				"NOMAD_ADDR": "https://10.0.0.1:4646", "NOMAD_TOKEN": " tok ", "NOMAD_REGION": "eu",
				"NOMAD_NAMESPACE": "ops", "NOMAD_CACERT": "/ca.pem", "NOMAD_CLIENT_CERT": "/c.pem",
				"NOMAD_CLIENT_KEY": "/k.pem", "NOMAD_TLS_SERVER_NAME": "server.eu.nomad", "NOMAD_SKIP_VERIFY": "true",
				"CONSUL_HTTP_ADDR": "10.0.0.2:8501", "CONSUL_HTTP_SSL": "1", "CONSUL_HTTP_TOKEN": "ctok",
				"CONSUL_CACERT": "/cca.pem", "CONSUL_CLIENT_CERT": "/cc.pem", "CONSUL_CLIENT_KEY": "/ck.pem",
				"CONSUL_TLS_SERVER_NAME": "consul.dc1", "CONSUL_HTTP_SSL_VERIFY": "false",
			},
			want: Config{
				NomadAddress: "https://10.0.0.1:4646", NomadAddressFrom: FromEnv, NomadToken: "tok", NomadRegion: "eu",
				NomadNamespace: "ops", NomadCACert: "/ca.pem", NomadClientCert: "/c.pem", NomadClientKey: "/k.pem",
				NomadTLSServerName: "server.eu.nomad", NomadSkipVerify: true,
				ConsulAddress: "10.0.0.2:8501", ConsulScheme: "https", ConsulAddressFrom: FromEnv, ConsulToken: "ctok",
				ConsulCACert: "/cca.pem", ConsulClientCert: "/cc.pem", ConsulClientKey: "/ck.pem",
				ConsulTLSServerName: "consul.dc1", ConsulSkipVerify: true,
			},
		},
		"runbook wins over environment": {
			cfg: Config{NomadAddress: "http://10.9.9.9:4646", NomadRegion: "us", ConsulAddress: "https://10.9.9.8:8501"},
			env: map[string]string{"NOMAD_ADDR": "http://ignored:4646", "NOMAD_REGION": "eu", "CONSUL_HTTP_ADDR": "ignored:8500", "NOMAD_TOKEN": "t"},
			want: Config{
				NomadAddress: "http://10.9.9.9:4646", NomadAddressFrom: FromRunbook, NomadRegion: "us", NomadToken: "t",
				ConsulAddress: "10.9.9.8:8501", ConsulScheme: "https", ConsulAddressFrom: FromRunbook,
			},
		},
		"address without scheme": {
			env: map[string]string{"NOMAD_ADDR": "10.0.0.1:4646", "CONSUL_HTTP_ADDR": "http://10.0.0.2:8500", "CONSUL_HTTP_SSL_VERIFY": "true"},
			want: Config{
				NomadAddress: "http://10.0.0.1:4646", NomadAddressFrom: FromEnv,
				ConsulAddress: "10.0.0.2:8500", ConsulScheme: "http", ConsulAddressFrom: FromEnv,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := tc.cfg.Resolve(func(k string) string { return tc.env[k] })
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			// Secrets compare by value above; check Reveal too.
			if got.NomadToken.Reveal() != tc.want.NomadToken.Reveal() {
				t.Errorf("token %q, want %q", got.NomadToken.Reveal(), tc.want.NomadToken.Reveal())
			}
		})
	}
}

// TestTokensNeverPrinted formats Config, Client and Error every way a
// program might print or log them and asserts the tokens are absent.
func TestTokensNeverPrinted(t *testing.T) {
	const nomadTok, consulTok = "nomad-TOKEN-4f1c9e", "consul-TOKEN-77ab02"
	env := map[string]string{"NOMAD_TOKEN": nomadTok, "CONSUL_HTTP_TOKEN": consulTok, "NOMAD_ADDR": "http://127.0.0.1:1"}
	getenv := func(k string) string { return env[k] }
	c, err := New(Config{}, WithGetenv(getenv))
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.Config()
	if cfg.NomadToken.Reveal() != nomadTok || cfg.ConsulToken.Reveal() != consulTok {
		t.Fatalf("tokens not resolved: the test would prove nothing")
	}
	type wrapper struct {
		Cfg    Config
		Client *Client
	}
	values := map[string]any{
		"Config": cfg, "*Config": &cfg, "*Client": c, "Client": *c,
		"wrapper": wrapper{cfg, c}, "token": cfg.NomadToken, "[]Secret": []Secret{cfg.ConsulToken},
	}
	for name, v := range values {
		var outs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
			outs = append(outs, verb+" "+fmt.Sprintf(verb, v))
		}
		outs = append(outs, fmt.Sprint(v), fmt.Sprintln(v))
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("%s: json: %v", name, err)
		}
		outs = append(outs, "json "+string(b))
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
		outs = append(outs, "slog "+buf.String())
		for _, out := range outs {
			if strings.Contains(out, nomadTok) || strings.Contains(out, consulTok) ||
				strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", nomadTok)) {
				t.Errorf("%s leaks a token: %s", name, out)
			}
		}
	}
	if got := fmt.Sprintf("%+v", cfg); !strings.Contains(got, "NomadToken:<redacted>") {
		t.Errorf("%%+v of Config = %s; want the token field shown as <redacted> so operators see it is set", got)
	}
	if got := fmt.Sprintf("%v", c); !strings.Contains(got, "http://127.0.0.1:1") {
		t.Errorf("client prints as %q, want its address", got)
	}
	// An error from a request must not carry the token either.
	_, err = c.Snapshot(t.Context(), SnapshotOptions{Nomad: true})
	if err == nil {
		t.Fatal("port 1 answered")
	}
	for _, out := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(out, nomadTok) {
			t.Errorf("error leaks the token: %s", out)
		}
	}
}

// NOMAD_ADDR and CONSUL_HTTP_ADDR may carry user:password@; no error,
// printed client or view (which inventories and plans store) may show it.
func TestAddressCredentialsNeverShown(t *testing.T) {
	const nomadPw, consulPw = "nomad-PW-93ab", "consul-PW-5cd1"
	env := map[string]string{
		"NOMAD_ADDR":       "http://ops:" + nomadPw + "@127.0.0.1:1",
		"CONSUL_HTTP_ADDR": "cops:" + consulPw + "@127.0.0.1:2",
	}
	c, err := New(Config{}, WithGetenv(func(k string) string { return env[k] }))
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Snapshot(t.Context(), SnapshotOptions{Nomad: true, Consul: true})
	if err == nil {
		t.Fatal("port 1 answered")
	}
	vj, _ := json.Marshal(v)
	cj, _ := json.Marshal(c)
	var hints []string
	var ce *Error
	if errors.As(err, &ce) {
		hints = append(hints, ce.Hint())
	}
	outs := append([]string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprint(c), string(cj), string(vj)}, hints...)
	for _, out := range outs {
		if strings.Contains(out, nomadPw) || strings.Contains(out, consulPw) || strings.Contains(out, "ops:") {
			t.Errorf("credentials shown: %s", out)
		}
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("the error no longer names the address: %v", err)
	}

	// A view read through such an address records it without them.
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	host := strings.TrimPrefix(f.nomad.URL, "http://")
	c = newTestClient(t, f, nil, "NOMAD_ADDR", "http://ops:"+nomadPw+"@"+host)
	v, err = c.Snapshot(t.Context(), SnapshotOptions{Nomad: true})
	if err != nil {
		t.Fatal(err)
	}
	if v.Nomad == nil || v.Nomad.Address != "http://"+host {
		t.Errorf("view address = %+v, want http://%s", v.Nomad, host)
	}
}

func TestShownAddress(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":          {"http://10.0.0.1:4646", "http://10.0.0.1:4646"},
		"user and pw":    {"http://u:p@10.0.0.1:4646", "http://10.0.0.1:4646"},
		"user only":      {"https://tok@nomad.example/", "https://nomad.example/"},
		"no scheme":      {"u:p@10.0.0.1:8500", "10.0.0.1:8500"},
		"no scheme bare": {"10.0.0.1:8500", "10.0.0.1:8500"},
		"@ in path":      {"http://10.0.0.1/a@b", "http://10.0.0.1/a@b"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ShownAddress(tc.in); got != tc.want {
				t.Errorf("ShownAddress(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
