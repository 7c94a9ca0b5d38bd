package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

// With TLS 1.3 the client's side of the handshake is over before the
// agent has checked the client's certificate. When the agent then refuses
// it, the request that follows sees either the agent's alert ("remote
// error: tls: unknown certificate authority") or, when the agent's close
// overtakes the request, a bare "connection reset by peer" (or, over
// HTTP/2, "http2: client conn could not be established": the connection
// died before the agent's settings arrived). Which one is a race, so a
// refused certificate could be reported as an agent that is not running.
// resetAfterTLS recognises the second case, and probeTLS settles it: a
// handshake followed by a read and nothing written, so the agent's alert
// always arrives before its close.

// tornDown are the ways a connection torn down under a request reads.
var tornDown = []string{
	"connection reset by peer",
	"broken pipe",
	"unexpected EOF",
	"http2: client conn could not be established",
	"http2: client connection lost",
}

// resetAfterTLS reports whether e is a connection torn down under an https
// request, the way a refused client certificate can look.
func resetAfterTLS(e *Error, scheme string) bool {
	if e == nil || e.Problem != ProblemUnreachable || scheme != "https" {
		return false
	}
	d := e.Detail
	if strings.HasSuffix(d, ": EOF") {
		return true
	}
	for _, s := range tornDown {
		if strings.Contains(d, s) {
			return true
		}
	}
	return false
}

// probeTLS makes one TLS connection to host (host:port) and reads from it
// without writing. It returns the agent's TLS alert, or nil when the agent
// kept the connection open (it accepted the handshake) or could not be
// reached at all (then the original error stands).
func probeTLS(ctx context.Context, host string, cfg *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil
	}
	defer raw.Close()
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		if h, _, err := net.SplitHostPort(host); err == nil {
			cfg.ServerName = h
		}
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	var b [1]byte
	_, err = conn.Read(b[:])
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		return nil
	}
	return err
}

// settleReset replaces a reset that followed a TLS handshake with the TLS
// cause the agent gives when asked again, if it gives one.
func settleReset(e *Error, address string, tlsConf func() (*tls.Config, error)) *Error {
	u, err := url.Parse(address)
	if err != nil || !resetAfterTLS(e, u.Scheme) || u.Host == "" {
		return e
	}
	cfg, err := tlsConf()
	if err != nil || cfg == nil {
		return e
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	perr := probeTLS(context.Background(), host, cfg)
	if perr == nil {
		return e
	}
	if cause, ok := tlsCause(perr, perr.Error()); ok {
		e.Problem, e.TLS = ProblemTLS, cause
		e.Detail += " (asked again without a request, the agent answered: " + perr.Error() + ")"
	}
	return e
}

// nomadTLSConfig is the TLS configuration the Nomad client uses.
func (c *Client) nomadTLSConfig() (*tls.Config, error) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{}}
	err := nomad.ConfigureTLS(&http.Client{Transport: tr}, &nomad.TLSConfig{
		CACert:        c.cfg.NomadCACert,
		ClientCert:    c.cfg.NomadClientCert,
		ClientKey:     c.cfg.NomadClientKey,
		TLSServerName: c.cfg.NomadTLSServerName,
		Insecure:      c.cfg.NomadSkipVerify,
	})
	return tr.TLSClientConfig, err
}

// consulTLSConfig is the TLS configuration the Consul client uses.
func (c *Client) consulTLSConfig() (*tls.Config, error) {
	return consul.SetupTLSConfig(&consul.TLSConfig{
		Address:            c.cfg.ConsulTLSServerName,
		CAFile:             c.cfg.ConsulCACert,
		CertFile:           c.cfg.ConsulClientCert,
		KeyFile:            c.cfg.ConsulClientKey,
		InsecureSkipVerify: c.cfg.ConsulSkipVerify,
	})
}
