package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The certificates of a secure sandbox, by role, as files in Root/tls: each
// role has NAME.pem and NAME-key.pem, signed by ca.pem. One CA signs both
// the Nomad and the Consul certificates, so the CLI certificate works for
// both. The CA's key is not kept: no certificate is issued after Start.
const (
	certNomadServer  = "nomad-server"
	certNomadClient  = "nomad-client"
	certConsulServer = "consul-server"
	certConsulClient = "consul-client"
	// certCLI is for nrun itself and for operators (`nrun sandbox env`).
	certCLI = "cli"
)

// tlsDir is the directory of the certificates under root.
func tlsDir(root string) string { return filepath.Join(root, "tls") }

func caFile(dir string) string         { return filepath.Join(dir, "ca.pem") }
func certFile(dir, role string) string { return filepath.Join(dir, role+".pem") }
func keyFile(dir, role string) string  { return filepath.Join(dir, role+"-key.pem") }

// writeCerts creates an ECDSA P-256 CA and one certificate per role in dir.
// The names are the ones the agents check with verify_server_hostname:
// server.REGION.nomad, client.REGION.nomad and server.DC.consul. Every
// certificate also names localhost and 127.0.0.1, since every address in
// the sandbox is a loopback IP.
func writeCerts(dir, region, dc string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "nrun sandbox CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writePEM(caFile(dir), "CERTIFICATE", caDER, 0o644); err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	roles := map[string]string{
		certNomadServer:  "server." + region + ".nomad",
		certNomadClient:  "client." + region + ".nomad",
		certConsulServer: "server." + dc + ".consul",
		certConsulClient: "client." + dc + ".consul",
		certCLI:          "cli." + region + ".nomad",
	}
	for role, name := range roles {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: name},
			DNSNames:     []string{name, "localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.AddDate(5, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			// Agents are servers to some peers and clients to others.
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(certFile(dir, role), "CERTIFICATE", der, 0o644); err != nil {
			return err
		}
		if err := writePEM(keyFile(dir, role), "EC PRIVATE KEY", keyDER, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// clientTLS is what nrun presents to the agents of a secure sandbox: the
// CLI certificate, trusting only the sandbox's CA.
func clientTLS(dir string) (*tls.Config, error) {
	pool, err := caPool(dir)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile(dir, certCLI), keyFile(dir, certCLI))
	if err != nil {
		return nil, fmt.Errorf("sandbox TLS: %w", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// serverTLS is the configuration of a listener that stands where a Nomad
// server does (the balancer): the Nomad server certificate, and a client
// certificate from the sandbox's CA required, as the servers require it.
func serverTLS(dir string) (*tls.Config, error) {
	pool, err := caPool(dir)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile(dir, certNomadServer), keyFile(dir, certNomadServer))
	if err != nil {
		return nil, fmt.Errorf("sandbox TLS: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

func caPool(dir string) (*x509.CertPool, error) {
	pemData, err := os.ReadFile(caFile(dir))
	if err != nil {
		return nil, fmt.Errorf("sandbox TLS: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("sandbox TLS: %s holds no certificate", caFile(dir))
	}
	return pool, nil
}

// newUUID is a random (version 4) UUID, the form Nomad and Consul want for
// a token's secret.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
