package cluster

import (
	"bytes"
	"encoding/json"
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
