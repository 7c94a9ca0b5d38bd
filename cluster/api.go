package cluster

import (
	"net/http"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

// NomadAPI builds a Nomad API client from cfg as Resolve left it: address,
// region, namespace, token and TLS. It does not contact Nomad. Its error is
// an *Error (token and address userinfo removed). The client holds the
// token: keep it out of anything printed.
func NomadAPI(cfg Config) (*nomad.Client, error) {
	n, err := nomadAPI(cfg, nil)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// ConsulAPI is NomadAPI for Consul: address, scheme, datacenter, token and
// TLS.
func ConsulAPI(cfg Config) (*consul.Client, error) {
	cs, _, err := consulAPI(cfg, nil)
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// nomadAPI builds the Nomad client; hc, when not nil, replaces the HTTP
// client (and with it the TLS settings).
func nomadAPI(cfg Config, hc *http.Client) (*nomad.Client, *Error) {
	n, err := nomad.NewClient(&nomad.Config{
		Address:    cfg.NomadAddress,
		Region:     cfg.NomadRegion,
		Namespace:  cfg.NomadNamespace,
		SecretID:   cfg.NomadToken.Reveal(),
		HttpClient: hc,
		TLSConfig: &nomad.TLSConfig{
			CACert:        cfg.NomadCACert,
			ClientCert:    cfg.NomadClientCert,
			ClientKey:     cfg.NomadClientKey,
			TLSServerName: cfg.NomadTLSServerName,
			Insecure:      cfg.NomadSkipVerify,
		},
	})
	if err != nil {
		return nil, shownError(newError("nomad", cfg.NomadShown(), cfg.NomadAddressFrom, "configure the client", cfg.NomadToken, err), cfg.NomadAddress)
	}
	return n, nil
}

// consulAPI builds the Consul client and returns its configuration as
// NewClient left it (scheme split off, HTTP client with TLS).
func consulAPI(cfg Config, hc *http.Client) (*consul.Client, *consul.Config, *Error) {
	cc := &consul.Config{
		Address:    cfg.ConsulAddress,
		Scheme:     cfg.ConsulScheme,
		Datacenter: cfg.ConsulDatacenter,
		Token:      cfg.ConsulToken.Reveal(),
		HttpClient: hc,
		TLSConfig: consul.TLSConfig{
			Address:            cfg.ConsulTLSServerName,
			CAFile:             cfg.ConsulCACert,
			CertFile:           cfg.ConsulClientCert,
			KeyFile:            cfg.ConsulClientKey,
			InsecureSkipVerify: cfg.ConsulSkipVerify,
		},
	}
	cs, err := consul.NewClient(cc)
	if err != nil {
		return nil, nil, shownError(newError("consul", cfg.ConsulShown(), cfg.ConsulAddressFrom, "configure the client", cfg.ConsulToken, err), cfg.ConsulAddress)
	}
	return cs, cc, nil
}
