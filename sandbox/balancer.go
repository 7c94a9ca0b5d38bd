package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// Balancer returns an HTTP handler that stands in for the load balancer in
// front of a real fleet's Nomad servers: it passes each request to a
// running Nomad server of the sandbox, the most recently added first, and
// tries the next when one does not answer. A runbook that replaces every
// server (blue/green) needs an address that outlives all of them; a
// client's address does not do, because agent endpoints such as
// force-leave only answer on servers.
//
// The state file is read on every request, so servers that another
// process adds or stops are seen at once. Newest first keeps requests off
// the servers a migration retires, which are the oldest.
func (c *Cluster) Balancer() http.Handler {
	c.mu.Lock()
	scheme := c.scheme()
	cfg, cfgErr := c.tlsConfig()
	c.mu.Unlock()
	// In a secure sandbox the balancer presents the CLI certificate to the
	// servers; the caller's token passes through in its header.
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: cfg}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cfgErr != nil {
			http.Error(w, "nrun sandbox balancer: "+cfgErr.Error(), http.StatusBadGateway)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var last error
		agents := c.Agents()
		for i := len(agents) - 1; i >= 0; i-- {
			a := agents[i]
			if a.Kind != NomadServer || !ownedBy(a.PID, a.Dir) {
				continue
			}
			req := r.Clone(r.Context())
			req.RequestURI = ""
			req.URL.Scheme, req.URL.Host = scheme, a.HTTPAddr()
			req.Body = io.NopCloser(bytes.NewReader(body))
			resp, err := tr.RoundTrip(req)
			if err != nil {
				last = err
				continue
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
			resp.Body.Close()
			return
		}
		http.Error(w, fmt.Sprintf("nrun sandbox balancer: no Nomad server answered (last error: %v)", last), http.StatusBadGateway)
	})
}
