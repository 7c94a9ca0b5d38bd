package sandbox

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"
)

// stateFile is the file in Root that lets a later process (the next `nrun
// sandbox` invocation) find the agents: PIDs, ports, versions, binaries.
const stateFile = "sandbox.json"

type state struct {
	Region                  string        `json:"region"`
	Datacenter              string        `json:"datacenter"`
	ConsulVersion           string        `json:"consul_version"`
	ServerStabilizationTime time.Duration `json:"server_stabilization_time"`
	ReadyTimeout            time.Duration `json:"ready_timeout"`
	Agents                  []*Agent      `json:"agents"`
	// Secure is set for a sandbox with mutual TLS and ACLs (Spec.Secure).
	Secure *Secrets `json:"secure,omitempty"`
}

// Phase is one measured step of Start or of an operation.
type Phase struct {
	Name string
	Took time.Duration
}

// Cluster is a running (or stopped) sandbox. Its methods are safe for
// concurrent use; operations run one at a time.
type Cluster struct {
	root string
	opts Options

	mu     sync.Mutex
	st     state
	phases []Phase

	tlsMu   sync.Mutex
	tls     *tls.Config
	tlsHTTP *http.Client
}

// ErrNoSandbox is returned by Open when Root holds no sandbox.
var ErrNoSandbox = errors.New("no sandbox")

// Start creates the agents of spec under spec.Root and returns once Nomad
// has a leader, every Nomad server is a Raft voter, every client is ready
// with raw_exec healthy, and Consul has a leader with all its peers. If
// anything fails, Start stops what it started and returns an error that
// includes the tails of the agents' logs.
//
// Start refuses a Root whose state file still names a live agent; it
// cleans up a Root left behind by a crash.
func Start(ctx context.Context, spec Spec) (*Cluster, error) {
	spec.setDefaults()
	if err := spec.validate(); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(spec.Root)
	if err != nil {
		return nil, err
	}
	c := &Cluster{root: root, opts: spec.Options}
	c.mu.Lock()
	defer c.mu.Unlock()
	// edit loads the state a crashed or stopped sandbox left here.
	unlock, err := c.edit(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if len(c.st.Agents) > 0 {
		if live := c.liveAgents(); len(live) > 0 {
			return nil, fmt.Errorf("a sandbox is already running in %s (%s); stop it first (nrun sandbox down)", root, strings.Join(live, ", "))
		}
		if err := c.stopLocked(); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"servers", "clients", "consul", "consul-agents", "tls", stateFile} {
		if err := os.RemoveAll(filepath.Join(root, d)); err != nil {
			return nil, err
		}
	}
	c.st = state{
		Region:                  spec.Region,
		Datacenter:              spec.Datacenter,
		ConsulVersion:           spec.ConsulVersion,
		ServerStabilizationTime: spec.ServerStabilizationTime,
		ReadyTimeout:            spec.ReadyTimeout,
	}
	if spec.Secure {
		c.st.Secure = newSecrets(root)
		if err := writeCerts(c.st.Secure.TLSDir, spec.Region, spec.Datacenter); err != nil {
			return nil, fmt.Errorf("sandbox certificates: %w", err)
		}
	}
	if err := c.start(ctx, spec); err != nil {
		tails := c.logTails(25)
		c.stopLocked()
		return nil, fmt.Errorf("%w\n\n%s", err, tails)
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, spec Spec) error {
	t0 := time.Now()
	var consulAgents []string
	for _, s := range spec.Servers {
		if s.ConsulAgent {
			consulAgents = append(consulAgents, s.Name)
		}
	}
	for _, cl := range spec.Clients {
		if cl.ConsulAgent {
			consulAgents = append(consulAgents, cl.Name)
		}
	}
	n := len(spec.Servers)*3 + len(spec.Clients)*3 + spec.ConsulServers*4 + len(consulAgents)*2
	ports, err := freePorts(n)
	if err != nil {
		return err
	}
	next := func() int { p := ports[0]; ports = ports[1:]; return p }
	for i := 1; i <= spec.ConsulServers; i++ {
		name := fmt.Sprintf("consul%d", i)
		if spec.ConsulNamePrefix != "" {
			name = fmt.Sprintf("%sconsul-%d", spec.ConsulNamePrefix, i)
		}
		c.st.Agents = append(c.st.Agents, &Agent{Kind: ConsulServer, Name: name, Version: spec.ConsulVersion,
			Ports: Ports{HTTP: next(), RPC: next(), Serf: next(), SerfWAN: next()}, BootstrapExpect: spec.ConsulServers})
	}
	// A host's Consul agent starts before its Nomad agent, which registers
	// its services through it.
	for _, name := range consulAgents {
		c.st.Agents = append(c.st.Agents, &Agent{Kind: ConsulClient, Name: name, Version: spec.ConsulVersion,
			Ports: Ports{HTTP: next(), Serf: next()}})
	}
	for _, s := range spec.Servers {
		c.st.Agents = append(c.st.Agents, &Agent{Kind: NomadServer, Name: s.Name, Version: s.Version, Datacenter: spec.Datacenter,
			Ports: Ports{HTTP: next(), RPC: next(), Serf: next()}, BootstrapExpect: len(spec.Servers)})
	}
	for _, cl := range spec.Clients {
		c.st.Agents = append(c.st.Agents, &Agent{Kind: NomadClient, Name: cl.Name, Version: cl.Version, Datacenter: cl.Datacenter,
			NodePool: cl.NodePool, Meta: cl.Meta, Ports: Ports{HTTP: next(), RPC: next(), Serf: next()}})
	}
	for _, a := range c.st.Agents {
		a.Dir = c.agentDir(a)
		if err := os.MkdirAll(a.DataDir(), 0o755); err != nil {
			return err
		}
		if a.Binary, err = c.binaries().Path(ctx, a.product(), a.Version); err != nil {
			return err
		}
	}
	c.phase("binaries", t0)
	if err := c.save(); err != nil {
		return err
	}
	// A secure sandbox creates the Consul agents' tokens before any other
	// agent starts: an agent whose token does not exist yet retries its
	// registration only after 15s or more.
	secureConsul := c.st.Secure != nil && spec.ConsulServers > 0
	for _, a := range c.st.Agents {
		if secureConsul && a.Kind != ConsulServer {
			continue
		}
		if err := c.spawn(a); err != nil {
			return err
		}
	}
	if secureConsul {
		if err := c.waitConsul(ctx); err != nil {
			return err
		}
		c.phase("consul leader", t0)
		if err := c.setupConsulACL(ctx); err != nil {
			return err
		}
		c.phase("consul acl", t0)
		for _, a := range c.st.Agents {
			if a.Kind != ConsulServer {
				if err := c.spawn(a); err != nil {
					return err
				}
			}
		}
	}
	c.phase("spawn", t0)
	if spec.ConsulServers > 0 {
		if !secureConsul {
			if err := c.waitConsul(ctx); err != nil {
				return err
			}
			c.phase("consul leader", t0)
		}
		if err := c.waitConsulAgents(ctx, consulAgents); err != nil {
			return err
		}
		if len(consulAgents) > 0 {
			c.phase("consul agents", t0)
		}
	}
	if err := c.waitLeader(ctx); err != nil {
		return err
	}
	c.phase("nomad leader", t0)
	if c.st.Secure != nil {
		if err := c.bootstrapNomadACL(ctx); err != nil {
			return err
		}
		c.phase("nomad acl", t0)
	}
	if err := c.waitVoters(ctx, c.names(NomadServer)); err != nil {
		return err
	}
	c.phase("raft voters", t0)
	if err := c.waitClients(ctx, c.names(NomadClient)); err != nil {
		return err
	}
	c.phase("clients ready", t0)
	if err := c.waitAllHealthy(ctx); err != nil {
		return err
	}
	c.phase("autopilot healthy", t0)
	return nil
}

// Open loads the sandbox whose state file is in root, for a process other
// than the one that started it. It returns an error wrapping ErrNoSandbox
// when there is none.
func Open(root string, opts Options) (*Cluster, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(root, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoSandbox, root)
	}
	if err != nil {
		return nil, err
	}
	c := &Cluster{root: root, opts: opts}
	if err := json.Unmarshal(data, &c.st); err != nil {
		return nil, fmt.Errorf("sandbox state %s is unreadable (%v); remove the directory after checking no agent runs from it", filepath.Join(root, stateFile), err)
	}
	return c, nil
}

// Resume starts every recorded agent that is not running (after a reboot or
// a crash, or `server stop`) and waits as Start does. It is what makes
// `nrun sandbox up` idempotent.
func (c *Cluster) Resume(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	unlock, err := c.edit(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	t0 := time.Now()
	var restarted []*Agent
	for _, a := range c.st.Agents {
		if ownedBy(a.PID, a.Dir) {
			continue
		}
		if err := c.spawn(a); err != nil {
			return err
		}
		restarted = append(restarted, a)
	}
	if len(c.names(ConsulServer)) > 0 {
		if err := c.waitConsul(ctx); err != nil {
			return c.withTails(err)
		}
	}
	if err := c.waitLeader(ctx); err != nil {
		return c.withTails(err)
	}
	// A crash between Start's leader and its bootstrap leaves Nomad's ACLs
	// not bootstrapped; the management token is in the state already.
	if c.st.Secure != nil {
		if err := c.bootstrapNomadACL(ctx); err != nil {
			return c.withTails(err)
		}
	}
	if err := c.waitVoters(ctx, c.names(NomadServer)); err != nil {
		return c.withTails(err)
	}
	if err := c.waitClients(ctx, c.names(NomadClient)); err != nil {
		return c.withTails(err)
	}
	// A restarted server is a voter in the old Raft configuration before
	// serf has it alive again; wait for that too, so status right after up
	// shows it alive.
	for _, a := range restarted {
		if a.Kind == NomadServer {
			if err := c.waitServerUp(ctx, a); err != nil {
				return c.withTails(err)
			}
		}
	}
	if err := c.waitAllHealthy(ctx); err != nil {
		return c.withTails(err)
	}
	c.phase("resume", t0)
	return nil
}

func (c *Cluster) binaries() *Binaries {
	if c.opts.Binaries != nil {
		return c.opts.Binaries
	}
	return &Binaries{}
}

func (c *Cluster) progress() io.Writer {
	if c.opts.Progress != nil {
		return c.opts.Progress
	}
	return io.Discard
}

func (c *Cluster) phase(name string, since time.Time) {
	took := time.Since(since)
	c.phases = append(c.phases, Phase{name, took})
	fmt.Fprintf(c.progress(), "nrun sandbox: %-14s %6.1fs\n", name, took.Seconds())
}

// Root is the sandbox directory (absolute).
func (c *Cluster) Root() string { return c.root }

// Phases returns the measured phases so far, each measured from the start
// of its operation.
func (c *Cluster) Phases() []Phase {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Phase(nil), c.phases...)
}

// Agents returns a copy of every recorded agent.
func (c *Cluster) Agents() []Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	var out []Agent
	for _, a := range c.st.Agents {
		out = append(out, *a)
	}
	return out
}

func (c *Cluster) agentDir(a *Agent) string {
	sub := map[Kind]string{NomadServer: "servers", NomadClient: "clients", ConsulServer: "consul", ConsulClient: "consul-agents"}[a.Kind]
	return filepath.Join(c.root, sub, a.Name)
}

func (c *Cluster) save() error {
	data, err := json.MarshalIndent(&c.st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.root, stateFile+".tmp")
	if err := os.MkdirAll(c.root, 0o755); err != nil {
		return err
	}
	// 0600: a secure sandbox's state holds its tokens.
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.root, stateFile))
}

func (c *Cluster) agents(k Kind) []*Agent {
	var out []*Agent
	for _, a := range c.st.Agents {
		if a.Kind == k {
			out = append(out, a)
		}
	}
	return out
}

func (c *Cluster) names(k Kind) []string {
	var out []string
	for _, a := range c.agents(k) {
		out = append(out, a.Name)
	}
	return out
}

func (c *Cluster) find(k Kind, name string) (*Agent, error) {
	for _, a := range c.st.Agents {
		if a.Kind == k && a.Name == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("no %s named %q in the sandbox (have: %s)", k, name, strings.Join(c.names(k), ", "))
}

func (c *Cluster) running(a *Agent) bool { return ownedBy(a.PID, a.Dir) }

func (c *Cluster) liveAgents() []string {
	var out []string
	for _, a := range c.st.Agents {
		if c.running(a) {
			out = append(out, fmt.Sprintf("%s pid %d", a.Name, a.PID))
		}
	}
	return out
}

// consulFor picks the Consul agent a Nomad agent registers with: its own
// Consul agent when it has one, else one of the Consul servers, spreading
// Nomad agents over them.
func (c *Cluster) consulFor(a *Agent) string {
	if own := c.consulAgentOf(a.Name); own != nil {
		return own.HTTPAddr()
	}
	consuls := c.agents(ConsulServer)
	if len(consuls) == 0 {
		return ""
	}
	i := 0
	for j, x := range c.st.Agents {
		if x == a {
			i = j
		}
	}
	return consuls[i%len(consuls)].HTTPAddr()
}

// spawn writes the agent's config and starts it. The caller holds c.mu.
func (c *Cluster) spawn(a *Agent) error {
	if err := os.MkdirAll(a.DataDir(), 0o755); err != nil {
		return err
	}
	var args []string
	switch a.Kind {
	case ConsulServer:
		args = consulArgs(a, c.agents(ConsulServer), c.st.Datacenter, c.st.Secure != nil, c.st.ServerStabilizationTime)
	case ConsulClient:
		args = consulClientArgs(a, c.agents(ConsulServer), c.st.Datacenter, c.st.Secure != nil)
	default:
		cfg := nomadConfig(a, &c.st, c.agents(NomadServer), c.consulFor(a))
		// 0600: a secure sandbox's config holds Nomad's Consul token.
		if err := os.WriteFile(a.configFile(), []byte(cfg), 0o600); err != nil {
			return err
		}
		args = []string{"agent", "-config=" + a.configFile()}
	}
	if c.st.Secure != nil && (a.Kind == ConsulServer || a.Kind == ConsulClient) {
		more, err := writeConsulSecure(a, c.st.Secure)
		if err != nil {
			return err
		}
		args = append(args, more...)
	}
	cmd, err := spawn(a, args, c.opts.Detach)
	if err != nil {
		return err
	}
	a.PID = cmd.Process.Pid
	// Reap it when it exits so a dead agent never lingers as a zombie that
	// looks alive to kill(pid, 0), and say in its log how it ended: an
	// agent killed before it printed anything leaves no other trace.
	logFile := a.LogFile()
	go func() {
		err := cmd.Wait()
		if f, ferr := os.OpenFile(logFile, os.O_WRONLY|os.O_APPEND, 0o644); ferr == nil {
			how := "exit status 0"
			if err != nil {
				how = err.Error()
			}
			fmt.Fprintf(f, "==> nrun sandbox: the agent process ended (%s) at %s\n", how, time.Now().Format(time.RFC3339))
			f.Close()
		}
	}()
	return c.save()
}

// signal sends sig to the agent's process group and waits up to grace for
// it to exit, then SIGKILLs the group. A PID that no longer belongs to the
// agent is never signalled.
func (c *Cluster) signal(a *Agent, sig syscall.Signal, grace time.Duration) error {
	if err := c.stopProcess(a, sig, grace); err != nil {
		return err
	}
	return c.save()
}

// stopProcess is signal without saving the state, for an agent whose
// record is already gone from it.
func (c *Cluster) stopProcess(a *Agent, sig syscall.Signal, grace time.Duration) error {
	if !c.running(a) {
		a.PID = 0
		return nil
	}
	syscall.Kill(-a.PID, sig)
	deadline := time.Now().Add(grace)
	for c.running(a) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if c.running(a) {
		syscall.Kill(-a.PID, syscall.SIGKILL)
		for i := 0; i < 100 && c.running(a); i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if c.running(a) {
		return fmt.Errorf("%s %s (pid %d) did not exit after SIGKILL", a.Kind, a.Name, a.PID)
	}
	// The leader thread turns zombie before the agent's other threads
	// have exited, and the agent's sockets close only with the last of
	// them: until then its ports still accept connections. A killed agent
	// counts as gone once nothing of it runs.
	for i := 0; i < 200 && threadsLeft(a.PID); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	a.PID = 0
	return nil
}

// Stop kills every process of the sandbox: each recorded agent by its PID
// (after checking the PID still runs from the agent's directory), then any
// leftover process whose command line or working directory is inside Root
// (raw_exec tasks, Nomad's executor and logmon). It waits until no thread
// of an agent is left, so that the agents' ports are free again (unless
// another process took one since). Data and logs stay; Start or Resume
// can use the directory again.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	unlock, err := c.edit(context.Background())
	if err != nil {
		return err
	}
	defer unlock()
	return c.stopLocked()
}

func (c *Cluster) stopLocked() error {
	t0 := time.Now()
	var pids []int
	for _, a := range c.st.Agents {
		if c.running(a) {
			pids = append(pids, a.PID)
			syscall.Kill(-a.PID, syscall.SIGKILL)
		}
	}
	var left []int
	for i := 0; i < 100; i++ {
		left = processesUnder(c.root)
		if len(left) == 0 {
			break
		}
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, a := range c.st.Agents {
		a.PID = 0
	}
	var errs []string
	if len(left) > 0 {
		errs = append(errs, fmt.Sprintf("processes still running after SIGKILL: %v", left))
	}
	if err := unmountUnder(c.root); err != nil {
		errs = append(errs, err.Error())
	}
	// An agent's sockets close with its last thread. Once no thread of
	// any agent is left, a recorded port that is still bound belongs to
	// another process (another sandbox's agent or task took it after it
	// was freed), which is not this sandbox's to wait for.
	deadline := time.Now().Add(10 * time.Second)
	for agentThreadsLeft(pids) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if agentThreadsLeft(pids) {
		if busy := c.busyPorts(0); len(busy) > 0 {
			errs = append(errs, fmt.Sprintf("ports still in use by agents that are still exiting: %v", busy))
		} else {
			errs = append(errs, "agent threads still running 10s after SIGKILL")
		}
	}
	if err := c.save(); err != nil {
		errs = append(errs, err.Error())
	}
	c.phase("stop", t0)
	if len(errs) > 0 {
		return fmt.Errorf("sandbox stop in %s: %s", c.root, strings.Join(errs, "; "))
	}
	return nil
}

// agentThreadsLeft reports whether a thread of any of pids still runs.
func agentThreadsLeft(pids []int) bool {
	for _, pid := range pids {
		if threadsLeft(pid) {
			return true
		}
	}
	return false
}

func (c *Cluster) busyPorts(wait time.Duration) []int {
	deadline := time.Now().Add(wait)
	for {
		var busy []int
		for _, a := range c.st.Agents {
			for _, p := range []int{a.Ports.HTTP, a.Ports.RPC, a.Ports.Serf, a.Ports.SerfWAN} {
				if p != 0 && !portFree(p) {
					busy = append(busy, p)
				}
			}
		}
		if len(busy) == 0 || time.Now().After(deadline) {
			return busy
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Ports returns every port recorded for the sandbox's agents.
func (c *Cluster) Ports() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	var out []int
	for _, a := range c.st.Agents {
		for _, p := range []int{a.Ports.HTTP, a.Ports.RPC, a.Ports.Serf, a.Ports.SerfWAN} {
			if p != 0 {
				out = append(out, p)
			}
		}
	}
	sort.Ints(out)
	return out
}

// Processes lists the live processes that belong to the sandbox (agents,
// tasks and their helpers). After Stop it is empty.
func (c *Cluster) Processes() []int { return processesUnder(c.root) }

// LogTails returns the last n lines of every agent's log, one section per
// agent, for failure messages.
func (c *Cluster) LogTails(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	return c.logTails(n)
}

func (c *Cluster) logTails(n int) string {
	var b strings.Builder
	for _, a := range c.st.Agents {
		fmt.Fprintf(&b, "---- %s %s (%s, pid %d, running %v) %s\n%s\n", a.Kind, a.Name, a.Version, a.PID, c.running(a), a.LogFile(), logTail(a, n))
	}
	return b.String()
}

func (c *Cluster) withTails(err error) error {
	return fmt.Errorf("%w\n\n%s", err, c.logTails(25))
}

// Env returns the environment that points nomad, consul and nrun at the
// sandbox, as KEY=value pairs: NOMAD_ADDR (a running server's HTTP API),
// CONSUL_HTTP_ADDR (a running Consul server's HTTP API, if any),
// NOMAD_REGION, and NRUN_SANDBOX_DIR. For a secure sandbox the addresses
// are https, and it adds the CA, the CLI certificate and key, and the
// management tokens: NOMAD_CACERT, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY,
// NOMAD_TOKEN, and CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
// CONSUL_HTTP_TOKEN and CONSUL_HTTP_SSL=true when there is Consul.
func (c *Cluster) Env() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	env := []string{"NRUN_SANDBOX_DIR=" + c.root, "NOMAD_REGION=" + c.st.Region}
	nomad, consul := c.firstRunning(NomadServer), c.firstRunning(ConsulServer)
	if nomad != nil {
		env = append(env, "NOMAD_ADDR="+c.scheme()+"://"+nomad.HTTPAddr())
	}
	if consul != nil {
		addr := consul.HTTPAddr()
		if c.st.Secure != nil {
			addr = "https://" + addr
		}
		env = append(env, "CONSUL_HTTP_ADDR="+addr)
	}
	if c.st.Secure != nil {
		env = append(env, c.secureEnv(nomad, consul)...)
	}
	sort.Strings(env)
	return env
}

func (c *Cluster) firstRunning(k Kind) *Agent {
	var fallback *Agent
	for _, a := range c.agents(k) {
		if c.running(a) {
			return a
		}
		if fallback == nil {
			fallback = a
		}
	}
	return fallback
}

// NomadClient returns an API client for a running Nomad server.
func (c *Cluster) NomadClient() (*api.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	a := c.firstRunning(NomadServer)
	if a == nil {
		return nil, errors.New("the sandbox has no Nomad server")
	}
	return c.nomadAPI(a)
}

// NomadClientFor returns an API client for one named agent (server or
// client), for asking that agent itself, e.g. its Agent().Self().
func (c *Cluster) NomadClientFor(name string) (*api.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	for _, a := range c.st.Agents {
		if a.Name == name && (a.Kind == NomadServer || a.Kind == NomadClient) {
			return c.nomadAPI(a)
		}
	}
	return nil, fmt.Errorf("no Nomad agent named %q", name)
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// nomadAPI is an API client for agent a: plain, or in a secure sandbox
// with the CLI certificate and the management token.
func (c *Cluster) nomadAPI(a *Agent) (*api.Client, error) {
	hc, err := c.httpc()
	if err != nil {
		return nil, err
	}
	return api.NewClient(&api.Config{Address: c.scheme() + "://" + a.HTTPAddr(), HttpClient: hc, SecretID: c.nomadToken()})
}
