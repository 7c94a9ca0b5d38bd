package cluster

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	consul "github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-cleanhttp"
)

// This file is the write side of Consul for the consul_maintenance,
// consul_force_leave, consul_raft_remove_peer and consul_snapshot_save
// actions. Each function probes before it acts and reports when the effect
// was already in place, so a step retried or resumed after a crash does no
// harm.

// Maintenance is the result of SetMaintenance.
type Maintenance struct {
	Node string `json:"node"`
	// Agent is the HTTP address of the node's own agent that was asked.
	Agent string `json:"agent"`
	// Already: the node was in the asked state before the call; nothing
	// was sent.
	Already bool `json:"already,omitempty"`
}

// SetMaintenance puts node into Consul maintenance (enable) or takes it out.
//
// Node maintenance is a property of the node's own agent: only that agent's
// /v1/agent/maintenance endpoint sets it. agent is its HTTP address
// ("host:port" or a URL). Gossip carries each member's serf address but not
// its HTTP port, so nrun cannot discover it reliably; when agent is empty,
// AgentAddress guesses the member's IP with the port of the configured
// Consul address, which is right in the usual layout of one agent per host
// on the same port. Either way the agent is asked its node name first and
// the call is refused when it is not node, so a wrong address can never put
// another node into maintenance.
//
// The probe reads the agent's own maintenance check; when it already
// matches enable, nothing is sent. The catalog (Health().Node, the
// consul_maintenance wait) shows the change after the agent's next sync,
// usually within a second.
func (c *Client) SetMaintenance(ctx context.Context, node, agent string, enable bool, reason string) (Maintenance, error) {
	out := Maintenance{Node: node}
	var err error
	if agent == "" {
		if agent, err = c.AgentAddress(ctx, node); err != nil {
			return out, err
		}
	}
	out.Agent = agent
	ac, err := c.agentClient(ctx, agent)
	if err != nil {
		return out, err
	}
	if err := c.checkAgentNode(ac, agent, node); err != nil {
		return out, err
	}
	// The agent's own checks, not the catalog: the catalog learns of a
	// change only at the agent's next sync.
	checks, err := ac.Agent().Checks()
	if err != nil {
		return out, c.consulAgentErr(agent, "read the agent's checks", err)
	}
	if _, on := checks[consul.NodeMaint]; on == enable {
		out.Already = true
		return out, nil
	}
	if enable {
		err = ac.Agent().EnableNodeMaintenance(reason)
	} else {
		err = ac.Agent().DisableNodeMaintenance()
	}
	if err != nil {
		return out, c.consulAgentErr(agent, fmt.Sprintf("set maintenance on node %s", node), err)
	}
	return out, nil
}

// AgentAddress guesses the HTTP address of node's Consul agent: the
// member's gossip IP with the scheme and port of the configured Consul
// address. SetMaintenance verifies the guess before it acts.
func (c *Client) AgentAddress(ctx context.Context, node string) (string, error) {
	m, err := c.consulMember(ctx, node)
	if err != nil {
		return "", err
	}
	if m == nil {
		return "", fmt.Errorf("consul has no member named %s; check the node name with `consul members`", node)
	}
	u, err := url.Parse(c.cfg.ConsulURL())
	if err != nil || u.Port() == "" {
		return "", fmt.Errorf("cannot take the HTTP port from the Consul address %s; give the node's agent address explicitly", c.cfg.ConsulURL())
	}
	return u.Scheme + "://" + net.JoinHostPort(m.Addr, u.Port()), nil
}

// ctxTransport gives every request of a client the caller's context: the
// Consul client's agent endpoints take none.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

// agentClient is a Consul client for one agent, with the configured token
// and TLS settings, whose requests end with ctx.
func (c *Client) agentClient(ctx context.Context, agent string) (*consul.Client, error) {
	cfg := c.cfg
	scheme, addr := cfg.ConsulScheme, agent
	if u, err := url.Parse(agent); err == nil && u.Host != "" {
		scheme, addr = u.Scheme, u.Host
	}
	if scheme == "" {
		scheme = "http"
	}
	tlsCfg := consul.TLSConfig{
		Address:            cfg.ConsulTLSServerName,
		CAFile:             cfg.ConsulCACert,
		CertFile:           cfg.ConsulClientCert,
		KeyFile:            cfg.ConsulClientKey,
		InsecureSkipVerify: cfg.ConsulSkipVerify,
	}
	hc, err := consul.NewHttpClient(cleanhttp.DefaultTransport(), tlsCfg)
	if err != nil {
		return nil, c.consulAgentErr(agent, "configure a client for the agent", err)
	}
	hc.Transport = ctxTransport{ctx: ctx, base: hc.Transport}
	ac, err := consul.NewClient(&consul.Config{
		Address: addr, Scheme: scheme, Datacenter: cfg.ConsulDatacenter,
		Token: cfg.ConsulToken.Reveal(), HttpClient: hc,
	})
	if err != nil {
		return nil, c.consulAgentErr(agent, "configure a client for the agent", err)
	}
	return ac, nil
}

func (c *Client) checkAgentNode(ac *consul.Client, agent, node string) error {
	name, err := ac.Agent().NodeName()
	if err != nil {
		return c.consulAgentErr(agent, "ask the agent its node name", err)
	}
	if name != node {
		return fmt.Errorf("the Consul agent at %s is node %s, not %s; maintenance is set through the node's own agent, so give that agent's HTTP address", agent, name, node)
	}
	return nil
}

func (c *Client) consulAgentErr(agent, op string, err error) *Error {
	e := newError("consul", agent, c.cfg.ConsulAddressFrom, op, c.cfg.ConsulToken, err)
	addr := agent
	if !strings.Contains(addr, "://") {
		addr = c.cfg.ConsulScheme + "://" + addr
	}
	return settleReset(e, addr, c.consulTLSConfig)
}

func (c *Client) consulMember(ctx context.Context, node string) (*consul.AgentMember, error) {
	var members []*consul.AgentMember
	if _, err := c.consul.Raw().Query("/v1/agent/members", &members, c.consulQuery(ctx)); err != nil {
		return nil, c.consulErr("list members", err)
	}
	for _, m := range members {
		if m != nil && m.Name == node {
			return m, nil
		}
	}
	return nil, nil
}

// ForceLeave is the result of ForceLeave.
type ForceLeave struct {
	Node string `json:"node"`
	// StatusBefore is the member's gossip status before the call ("failed",
	// "left", ...), empty when it was not a member.
	StatusBefore string `json:"status_before,omitempty"`
	// Already: the member had left (or, with prune, was gone) before the
	// call; nothing was sent.
	Already bool `json:"already,omitempty"`
}

// ForceLeave removes a failed node from Consul's gossip pool; with prune
// it also drops it from the member list at once. The probe reads the
// members: a member already gone (or "left" without prune) is reported as
// Already. An alive member is refused, because Consul would ignore the call:
// stop its agent first and wait until gossip marks it failed.
func (c *Client) ForceLeave(ctx context.Context, node string, prune bool) (ForceLeave, error) {
	out := ForceLeave{Node: node}
	m, err := c.consulMember(ctx, node)
	if err != nil {
		return out, err
	}
	if m == nil {
		out.Already = true
		return out, nil
	}
	out.StatusBefore = serfStatus(m.Status)
	switch out.StatusBefore {
	case "alive":
		return out, fmt.Errorf("consul member %s is alive; force-leave only removes failed members. Stop its agent first and wait until `consul members` shows it failed", node)
	case "left":
		if !prune {
			out.Already = true
			return out, nil
		}
	}
	if err := c.consul.Agent().ForceLeaveOptions(node, consul.ForceLeaveOpts{Prune: prune}, c.consulQuery(ctx)); err != nil {
		return out, c.consulErr("force-leave node "+node, err)
	}
	return out, nil
}

// RaftRemoval is the result of RaftRemovePeer.
type RaftRemoval struct {
	ID      string `json:"id,omitempty"`
	Address string `json:"address,omitempty"`
	Node    string `json:"node,omitempty"`
	// Already: no Raft peer matched; nothing was sent.
	Already bool `json:"already,omitempty"`
}

// RaftRemovePeer removes a server from Consul's Raft configuration. server
// is the peer's ID, its address ("10.0.0.3:8300") or its node name. The
// probe reads the Raft configuration: no matching peer means it is already
// gone (Consul's leader also removes a server that leaves or is
// force-left). The leader is refused: transfer leadership first.
func (c *Client) RaftRemovePeer(ctx context.Context, server string) (RaftRemoval, error) {
	q := c.consulQuery(ctx)
	q.AllowStale = false
	raft, err := c.consul.Operator().RaftGetConfiguration(q)
	if err != nil {
		return RaftRemoval{}, c.consulErr("read the Raft configuration", err)
	}
	var peer *consul.RaftServer
	for _, p := range raft.Servers {
		if p != nil && (p.ID == server || p.Address == server || p.Node == server) {
			peer = p
			break
		}
	}
	if peer == nil {
		return RaftRemoval{Already: true}, nil
	}
	out := RaftRemoval{ID: peer.ID, Address: peer.Address, Node: peer.Node}
	if peer.Leader {
		return out, fmt.Errorf("consul server %s (%s) is the Raft leader; removing the leader's own peer would leave the cluster without one until a new election. Transfer leadership first (consul operator raft transfer-leader) or stop the server so another is elected", peer.Node, peer.Address)
	}
	w := (&consul.WriteOptions{}).WithContext(ctx)
	if peer.ID != "" {
		err = c.consul.Operator().RaftRemovePeerByID(peer.ID, w)
	} else {
		err = c.consul.Operator().RaftRemovePeerByAddress(peer.Address, w)
	}
	if err != nil {
		return out, c.consulErr("remove Raft peer "+peer.Address, err)
	}
	return out, nil
}

// RaftPeerPresent reports whether server (ID, address or node name) is in
// Consul's Raft configuration.
func (c *Client) RaftPeerPresent(ctx context.Context, server string) (bool, error) {
	q := c.consulQuery(ctx)
	q.AllowStale = false
	raft, err := c.consul.Operator().RaftGetConfiguration(q)
	if err != nil {
		return false, c.consulErr("read the Raft configuration", err)
	}
	for _, p := range raft.Servers {
		if p != nil && (p.ID == server || p.Address == server || p.Node == server) {
			return true, nil
		}
	}
	return false, nil
}

// ConsulSnapshot is a saved Consul snapshot.
type ConsulSnapshot struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // "sha256:<hex>" of the file
	Index  uint64 `json:"index"`  // the Raft index the snapshot was taken at
	// Files are the archive's entries (meta.json, state.bin, SHA256SUMS).
	Files []string `json:"files"`
}

// SnapshotSave takes a Consul snapshot into path: written to a temporary
// file next to it, fsynced, verified (a gzip'd tar whose meta.json and
// state.bin match the archive's own SHA256SUMS), and only then renamed
// into place, so path never holds half a snapshot. Saving again replaces
// the file with a newer snapshot, which is the safe outcome of a retry.
func (c *Client) SnapshotSave(ctx context.Context, path string) (ConsulSnapshot, error) {
	out := ConsulSnapshot{Path: path}
	if path == "" {
		return out, errors.New("consul snapshot: path is empty")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return out, err
	}
	q := (&consul.QueryOptions{}).WithContext(ctx)
	rc, qm, err := c.consul.Snapshot().Save(q)
	if err != nil {
		return out, c.consulErr("take a snapshot", err)
	}
	defer rc.Close()
	out.Index = qm.LastIndex
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return out, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	out.Size, err = io.Copy(io.MultiWriter(tmp, h), rc)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return out, fmt.Errorf("write the Consul snapshot to %s: %w", tmp.Name(), err)
	}
	out.SHA256 = "sha256:" + hex.EncodeToString(h.Sum(nil))
	files, digest, err := VerifyConsulSnapshot(tmp.Name())
	if err != nil {
		return out, fmt.Errorf("the Consul snapshot written to %s is not readable: %w", tmp.Name(), err)
	}
	if digest != out.SHA256 {
		return out, fmt.Errorf("the Consul snapshot changed between writing and reading back (%s, then %s)", out.SHA256, digest)
	}
	out.Files = files
	if err := os.Rename(tmp.Name(), path); err != nil {
		return out, err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return out, nil
}

// VerifyConsulSnapshot reads a Consul snapshot file through: its sha256,
// the gzip stream (whose CRC the reader checks), every tar entry, and the
// entries' digests against the archive's SHA256SUMS. It returns the entry
// names and the file's "sha256:<hex>".
func VerifyConsulSnapshot(path string) ([]string, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	fileHash := sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(f, fileHash))
	if err != nil {
		return nil, "", fmt.Errorf("not a gzip stream: %w", err)
	}
	tr := tar.NewReader(zr)
	var names []string
	sums := map[string]string{}
	var listed string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return names, "", fmt.Errorf("tar: %w", err)
		}
		names = append(names, hdr.Name)
		if hdr.Name == "SHA256SUMS" {
			b, err := io.ReadAll(tr)
			if err != nil {
				return names, "", fmt.Errorf("read SHA256SUMS: %w", err)
			}
			listed = string(b)
			continue
		}
		h := sha256.New()
		if _, err := io.Copy(h, tr); err != nil {
			return names, "", fmt.Errorf("read %s: %w", hdr.Name, err)
		}
		sums[hdr.Name] = hex.EncodeToString(h.Sum(nil))
	}
	// Drain the gzip trailer so its CRC is checked and the file hash covers
	// every byte.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return names, "", fmt.Errorf("gzip: %w", err)
	}
	if _, err := io.Copy(fileHash, f); err != nil {
		return names, "", err
	}
	if _, ok := sums["state.bin"]; !ok {
		return names, "", errors.New("the archive has no state.bin")
	}
	if listed == "" {
		return names, "", errors.New("the archive has no SHA256SUMS")
	}
	sc := bufio.NewScanner(strings.NewReader(listed))
	checked := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		want, name := fields[0], strings.TrimPrefix(fields[1], "*")
		got, ok := sums[name]
		if !ok {
			return names, "", fmt.Errorf("SHA256SUMS lists %s, which the archive lacks", name)
		}
		if got != want {
			return names, "", fmt.Errorf("%s does not match its SHA256SUMS entry", name)
		}
		checked++
	}
	if checked == 0 {
		return names, "", errors.New("SHA256SUMS lists no file")
	}
	return names, "sha256:" + hex.EncodeToString(fileHash.Sum(nil)), nil
}

// ConsulRaftPeer is one server of Consul's Raft configuration.
type ConsulRaftPeer struct {
	ID      string `json:"id,omitempty"`
	Address string `json:"address,omitempty"`
	Node    string `json:"node,omitempty"`
	Leader  bool   `json:"leader,omitempty"`
	Voter   bool   `json:"voter,omitempty"`
}

// ConsulRaftPeers reads Consul's Raft configuration from the leader (not
// stale: a leadership transfer and its wait need the leader of now).
func (c *Client) ConsulRaftPeers(ctx context.Context) ([]ConsulRaftPeer, error) {
	q := c.consulQuery(ctx)
	q.AllowStale = false
	raft, err := c.consul.Operator().RaftGetConfiguration(q)
	if err != nil {
		return nil, c.consulErr("read the Raft configuration", err)
	}
	var out []ConsulRaftPeer
	for _, p := range raft.Servers {
		if p != nil {
			out = append(out, ConsulRaftPeer{ID: p.ID, Address: p.Address, Node: p.Node, Leader: p.Leader, Voter: p.Voter})
		}
	}
	return out, nil
}

// RaftTransferLeader asks Consul's leader to hand leadership to the server
// with Raft ID to, or to a voter of its choosing when to is "" (POST
// /v1/operator/raft/transfer-leader, operator:write). It returns once the
// leader has accepted; the election follows.
func (c *Client) RaftTransferLeader(ctx context.Context, to string) error {
	q := c.consulQuery(ctx)
	q.AllowStale = false
	res, err := c.consul.Operator().RaftLeaderTransfer(to, q)
	if err != nil {
		return c.consulErr("transfer Raft leadership", err)
	}
	if res != nil && !res.Success {
		return c.consulErr("transfer Raft leadership", fmt.Errorf("the leader did not report success"))
	}
	return nil
}
