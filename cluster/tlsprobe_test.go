package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testCA makes a CA and a client certificate it signed.
func testCA(t *testing.T, name string) (*x509.Certificate, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return ca, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// A refused client certificate reaches the API clients either as the
// agent's alert or as a reset, depending on a race (seen in CI: "write:
// connection reset by peer" for a certificate from another CA). The reset
// is settled by asking again without a request, which always gets the
// alert; an accepted certificate and an unreachable agent leave the error
// as it was.
func TestSettleResetAfterTLS(t *testing.T) {
	clusterCA, good := testCA(t, "cluster CA")
	_, foreign := testCA(t, "another CA")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	pool := x509.NewCertPool()
	pool.AddCert(clusterCA)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	withCert := func(certs ...tls.Certificate) func() (*tls.Config, error) {
		return func() (*tls.Config, error) {
			return &tls.Config{RootCAs: roots, Certificates: certs, ServerName: "example.com"}, nil
		}
	}
	// The forms a refused certificate's teardown took in CI runs.
	resets := []string{
		"write tcp 127.0.0.1:1->127.0.0.1:2: write: connection reset by peer",
		"http2: client conn could not be established",
	}
	cases := map[string]struct {
		conf    func() (*tls.Config, error)
		address string
		want    Problem
		cause   TLSCause
	}{
		"certificate from another CA": {conf: withCert(foreign), address: srv.URL, want: ProblemTLS, cause: TLSClientCert},
		"no certificate":              {conf: withCert(), address: srv.URL, want: ProblemTLS, cause: TLSClientCert},
		"accepted certificate":        {conf: withCert(good), address: srv.URL, want: ProblemUnreachable},
		"agent gone":                  {conf: withCert(foreign), address: "https://127.0.0.1:1", want: ProblemUnreachable},
		"plain http":                  {conf: withCert(foreign), address: strings.Replace(srv.URL, "https", "http", 1), want: ProblemUnreachable},
	}
	for name, tc := range cases {
		for _, reset := range resets {
			t.Run(name+"/"+reset, func(t *testing.T) {
				e := settleReset(&Error{System: "consul", Problem: ProblemUnreachable, Detail: `Get "` + srv.URL + `/v1/acl/token/self": ` + reset}, tc.address, tc.conf)
				if e.Problem != tc.want || (tc.want == ProblemTLS && e.TLS != tc.cause) {
					t.Fatalf("problem %v, cause %v; want %v, %v (detail: %s)", e.Problem, e.TLS, tc.want, tc.cause, e.Detail)
				}
				if tc.want == ProblemTLS && !strings.Contains(e.Detail, "remote error: tls:") {
					t.Errorf("detail does not carry the agent's alert: %s", e.Detail)
				}
				if tc.want == ProblemTLS && !strings.Contains(e.Hint(), "CONSUL_CLIENT_CERT") {
					t.Errorf("hint does not say what to set: %s", e.Hint())
				}
			})
		}
	}
	// An error that is not a reset is never re-asked.
	other := &Error{System: "consul", Problem: ProblemUnreachable, Detail: "dial tcp: connection refused"}
	if e := settleReset(other, srv.URL, withCert(foreign)); e.Problem != ProblemUnreachable {
		t.Errorf("a refused connection became %v", e.Problem)
	}
	if err := probeTLS(context.Background(), strings.TrimPrefix(srv.URL, "https://"), &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{good}, ServerName: "example.com"}); err != nil {
		t.Errorf("an accepted handshake gave %v", err)
	}
}
