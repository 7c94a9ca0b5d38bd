package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

// Client reads Nomad and Consul. It is safe for concurrent use. Printing or
// marshalling a Client shows its addresses, never its tokens.
type Client struct {
	cfg    Config
	nomad  *nomad.Client
	consul *consul.Client
	// consulConf is the Consul client's configuration as NewClient left
	// it (scheme split off, HTTP client with TLS), for the calls the
	// Consul API module does not wrap.
	consulConf *consul.Config
	waitTime   time.Duration
	now        func() time.Time
	dialRPC    func(ctx context.Context, addr string) string
}

type options struct {
	httpClient *http.Client
	getenv     func(string) string
	waitTime   time.Duration
	now        func() time.Time
	dialRPC    func(ctx context.Context, addr string) string
}

// Option configures New.
type Option func(*options)

// WithRPCProbe replaces the TCP connect of the RPC probe (Server.RPC):
// probe answers RPCUp, RPCRefused or RPCNoAnswer for a Raft address. For
// tests whose fake servers have no RPC listener.
func WithRPCProbe(probe func(ctx context.Context, addr string) string) Option {
	return func(o *options) { o.dialRPC = probe }
}

// WithHTTPClient makes both API clients send requests through hc. The
// Config's TLS settings are then ignored: hc must carry its own.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.httpClient = hc }
}

// WithTransport is WithHTTPClient with a fresh http.Client around rt; tests
// use it to count or fake requests.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.httpClient = &http.Client{Transport: rt} }
}

// WithGetenv replaces os.Getenv when resolving the Config.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) { o.getenv = getenv }
}

// WithWaitTime sets how long one blocking query may wait before it returns
// with an unchanged index (default one minute; servers cap it at ten).
func WithWaitTime(d time.Duration) Option {
	return func(o *options) { o.waitTime = d }
}

// WithClock replaces time.Now for View.Taken, so golden tests are stable.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// New resolves cfg against the environment and builds the API clients. It
// does not contact either cluster; the first request does.
//
// Consul's client falls back to the process environment
// (CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE, CONSUL_CACERT, ...) for fields
// still empty after resolution; that matters only when WithGetenv hides a
// variable the process does have.
func New(cfg Config, opts ...Option) (*Client, error) {
	o := options{waitTime: time.Minute, now: time.Now, dialRPC: dialOutcome}
	for _, opt := range opts {
		opt(&o)
	}
	cfg = cfg.Resolve(o.getenv)

	n, e := nomadAPI(cfg, o.httpClient)
	if e != nil {
		return nil, e
	}
	cs, cc, e := consulAPI(cfg, o.httpClient)
	if e != nil {
		return nil, e
	}
	return &Client{cfg: cfg, nomad: n, consul: cs, consulConf: cc, waitTime: o.waitTime, now: o.now, dialRPC: o.dialRPC}, nil
}

// Config returns the resolved configuration (tokens stay redacted when it
// is printed).
func (c *Client) Config() Config { return c.cfg }

// String describes the client by its addresses.
func (c Client) String() string {
	return fmt.Sprintf("cluster.Client{nomad: %s, consul: %s}", c.cfg.NomadShown(), c.cfg.ConsulShown())
}

// Format implements fmt.Formatter so that every verb, %#v and %x included,
// prints String and never walks the unexported fields (which hold the API
// clients and, inside them, the tokens).
// Value receivers, so a copied Client is covered too.
func (c Client) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// MarshalJSON writes the redacted Config: no tokens, no userinfo in the
// addresses.
func (c Client) MarshalJSON() ([]byte, error) {
	cfg := c.cfg
	cfg.NomadAddress = cfg.NomadShown()
	cfg.ConsulAddress = ShownAddress(cfg.ConsulAddress)
	return json.Marshal(cfg)
}

func (c *Client) nomadErr(op string, err error) *Error {
	e := newError("nomad", c.cfg.NomadShown(), c.cfg.NomadAddressFrom, op, c.cfg.NomadToken, err)
	return shownError(settleReset(e, c.cfg.NomadAddress, c.nomadTLSConfig), c.cfg.NomadAddress)
}

func (c *Client) consulErr(op string, err error) *Error {
	e := newError("consul", c.cfg.ConsulShown(), c.cfg.ConsulAddressFrom, op, c.cfg.ConsulToken, err)
	return shownError(settleReset(e, c.cfg.ConsulURL(), c.consulTLSConfig), c.cfg.ConsulAddress)
}

// shownError removes the userinfo of addr from the error's detail too:
// the API clients quote the request URL in their errors, Consul's with
// the '@' percent-encoded.
func shownError(e *Error, addr string) *Error {
	if e == nil {
		return nil
	}
	rest := addr
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return e
	}
	userinfo := rest[:at]
	for _, form := range []string{userinfo + "@", userinfo + "%40", url.PathEscape(userinfo) + "@", url.PathEscape(userinfo) + "%40"} {
		e.Detail = strings.ReplaceAll(e.Detail, form, "")
	}
	// Whatever other form a client chose, the password itself goes.
	if _, pw, ok := strings.Cut(userinfo, ":"); ok && pw != "" {
		e.Detail = strings.ReplaceAll(e.Detail, pw, "xxxxx")
		e.Detail = strings.ReplaceAll(e.Detail, url.PathEscape(pw), "xxxxx")
	}
	return e
}
