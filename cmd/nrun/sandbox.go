package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nrun-dev/nrun/sandbox"
)

func init() {
	register(&command{Name: "sandbox", Synopsis: "Run a local Nomad + Consul cluster on loopback", Run: runSandbox})
}

const sandboxHelp = `Usage: nrun sandbox <subcommand> [options]

  Runs real Nomad and Consul agents on 127.0.0.1 for trying runbooks and for
  tests. Agents run detached (they outlive this command); their PIDs, ports,
  versions, data_dirs and logs live under the sandbox directory, so every
  subcommand works across invocations.

Subcommands:
  up       Start a cluster, or start the missing agents of an existing one
           (idempotent). Waits for a Nomad leader, Raft voters, ready
           clients and a Consul leader.
  down     Stop every agent (by PID, after checking the PID still runs from
           the sandbox directory) and any task process left behind, then
           delete the sandbox directory. Works after a crash.
  status   Show servers (leader, voter, version), clients (pool,
           eligibility, drain, allocations) and Consul peers.
  env      Print export lines for NOMAD_ADDR, CONSUL_HTTP_ADDR, NOMAD_REGION
           and NRUN_SANDBOX_DIR:  eval "$(nrun sandbox env)". For a secure
           sandbox also NOMAD_CACERT, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY,
           NOMAD_TOKEN, CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
           CONSUL_HTTP_TOKEN and CONSUL_HTTP_SSL: the only command that
           prints the management tokens.
  balance [-listen ADDR]
           Serve a load balancer over the running Nomad servers (newest
           first) until interrupted, and print the NOMAD_ADDR to use. For
           runbooks that replace every server, such as blue/green.
  consul-agents
           Print the HTTP address of each Nomad agent's own Consul agent
           as a variable file (consul_agents = { NAME = "ADDR" }), the one
           blue-green-image-migration.nrun.hcl takes for Consul maintenance.
  build    Build the pinned agent binaries into the cache (one-time cost of
           about 25 minutes on 2 cores): nomad 1.10.0, nomad 1.9.4,
           consul 1.21.0, consul 1.20.6.
  server stop NAME            SIGTERM; the server stays a Raft peer.
  server start NAME [-version V]
                              Start a stopped server on its data_dir,
                              optionally on another version (upgrade).
  server kill NAME            SIGKILL (a crash).
  server add NAME [-version V] [-consul-agent]
  server remove NAME          Graceful leave, then delete its directory
                              (and its own Consul agent's).
  client add NAME [-pool P] [-dc DC] [-meta k=v]... [-version V]
             [-consul-agent]
  client remove NAME          Stop it and its tasks, purge the node.
  client stop NAME            SIGTERM; its tasks and node record stay.
  client start NAME [-version V]
                              Start a stopped client on its data_dir,
                              optionally on another version (upgrade);
                              returns once it registered again.
  consul stop NAME            SIGTERM a Consul server; it stays a Raft peer.
  consul start NAME [-version V]
                              Start a stopped Consul server on its data
                              dir, optionally on another version (upgrade);
                              waits until it is a voter and knows the leader.
  consul kill NAME            SIGKILL a Consul server (a crash).
  consul add NAME [-version V]
                              A new Consul server joins; waits until it votes.
  consul remove NAME          Graceful leave (consul leave), wait until it is
                              no Raft peer, delete its directory.
  consul agent NAME           Start a Consul client agent of no Nomad agent
                              (an operator's machine): point CONSUL_HTTP_ADDR
                              at it to read Consul while its servers are
                              replaced. consul-agents lists its address.

  -consul-agent gives the new agent its own Consul client agent, named like
  it, as on a real host: its services register there, and Consul node
  maintenance of that host is set through it (status lists its address).
  Such an agent follows the Consul servers through gossip, so its Nomad
  agent keeps a working Consul while servers are stopped or replaced one at
  a time. A Nomad agent without one talks to one Consul server, named at
  its start: while that server is stopped its Consul calls fail and are
  retried, and after a consul remove it needs a restart.
  Every command that changes the sandbox holds a lock on it, so several
  may run at once (terraform's provisioners do).

Options for every subcommand:
  -dir DIR   Sandbox directory. Default: $NRUN_SANDBOX_DIR, else
             .nrun/sandbox in the working directory.

Options for up:
  -servers N         Nomad servers s1..sN (default 3)
  -clients N         Nomad clients c1..cN (default 2)
  -consul N          Consul servers (default 3; 0 runs Nomad without Consul)
  -consul-version V  Consul version of the Consul servers and agents
                     (default 1.21.0; 1.20.6 starts the 1.20.6 -> 1.21.0
                     upgrade path)
  -version V         Nomad version of servers and clients (default 1.10.0;
                     1.9.4 starts the real 1.9.4 -> 1.10.0 upgrade path)
  -client-version V  Nomad version of the clients (default: -version)
  -prefix P          Name the agents Pserver-1.., Pclient-1.., Pconsul-1..
                     instead of s1.., c1.., consul1.. (e.g. -prefix blue-
                     for blue-green)
  -consul-agents     Give every Nomad agent its own Consul client agent
  -pools A,B         Put the clients in these node pools, round robin
                     (c1 in A, c2 in B, c3 in A, ...)
  -datacenters D1,D2 Put the clients in these datacenters, round robin
                     after the pools, so every pool spans every datacenter
  -jobs              Also run the fleet's demo service jobs (fleet-web,
                     fleet-api, fleet-worker: about one allocation per
                     client, node pool "all", spread over the pools, some
                     with migrate max_parallel 2) and wait until they are
                     healthy. A fleet: -clients 60 -pools a,b -jobs
  -timeout D         How long to wait for the cluster (default 3m)
  -secure            Mutual TLS on every Nomad and Consul listener (a CA and
                     certificates generated into DIR/tls, checked names
                     server.REGION.nomad, client.REGION.nomad,
                     server.DC.consul) and ACLs with default deny, with
                     management tokens nrun bootstraps and keeps in the
                     state file (mode 0600). env then prints https
                     addresses, the CA, a CLI certificate and the tokens;
                     every other subcommand works as without it.

Options for status:
  -json      Print the status as JSON.

Binaries: an explicit binary wins, named by NRUN_NOMAD_BIN_1_10_0,
NRUN_NOMAD_BIN_1_9_4, NRUN_CONSUL_BIN_1_21_0 or NRUN_CONSUL_BIN_1_20_6; then a nomad/consul on PATH
whose version matches; then the cache under $NRUN_CACHE_DIR/bin or the user
cache directory (~/.cache/nrun/bin); then a build from the tools/ modules of
the nrun repository (found from the working directory or $NRUN_TOOLS_DIR).

Exit codes:
  0  success
  1  error (the cluster did not come up, an agent is unknown, a wait timed
     out, bad usage); the message says which and shows agent log tails
`

// sandboxFlags are the flags every subcommand accepts.
type sandboxFlags struct {
	dir     string
	servers int
	clients int
	consul  int
	version string
	cliVer  string
	timeout time.Duration
	json    bool
	pool    string
	dc      string
	meta    metaFlag
	prefix  string
	listen  string
	// consulAgent is -consul-agent (add) and -consul-agents (up).
	consulAgent bool
	secure      bool
	// consulVersion is -consul-version (up).
	consulVersion string
	// pools, datacenters and jobs shape a fleet (up).
	pools, datacenters string
	jobs               bool
}

type metaFlag map[string]string

func (m metaFlag) String() string { return "" }
func (m metaFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	m[k] = val
	return nil
}

func runSandbox(s *streams, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(s.Stderr, sandboxHelp)
		return exitUsage
	}
	if args[0] == "-help" || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(s.Stdout, sandboxHelp)
		return exitOK
	}
	sub := args[0]
	args = args[1:]
	if sub == "server" || sub == "client" || sub == "consul" {
		if len(args) == 0 {
			fmt.Fprintf(s.Stderr, "nrun sandbox %s: missing action (stop, start, kill, add, remove)\n", sub)
			return exitUsage
		}
		sub, args = sub+" "+args[0], args[1:]
	}
	f := sandboxFlags{meta: metaFlag{}}
	fs := flag.NewFlagSet("sandbox "+sub, flag.ContinueOnError)
	fs.SetOutput(s.Stderr)
	// The flag package prints a parse error to stderr itself; the help
	// follows it there, or goes to stdout when it was asked for.
	fs.Usage = func() {}
	fs.StringVar(&f.dir, "dir", "", "sandbox directory")
	fs.IntVar(&f.servers, "servers", 3, "")
	fs.IntVar(&f.clients, "clients", 2, "")
	fs.IntVar(&f.consul, "consul", 3, "")
	fs.StringVar(&f.version, "version", "", "")
	fs.StringVar(&f.cliVer, "client-version", "", "")
	fs.DurationVar(&f.timeout, "timeout", 3*time.Minute, "")
	fs.BoolVar(&f.json, "json", false, "")
	fs.StringVar(&f.pool, "pool", "", "")
	fs.StringVar(&f.dc, "dc", "", "")
	fs.Var(f.meta, "meta", "")
	fs.StringVar(&f.prefix, "prefix", "", "")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:0", "")
	fs.BoolVar(&f.consulAgent, "consul-agent", false, "")
	fs.BoolVar(&f.consulAgent, "consul-agents", false, "")
	fs.BoolVar(&f.secure, "secure", false, "")
	fs.StringVar(&f.consulVersion, "consul-version", "", "")
	fs.StringVar(&f.pools, "pools", "", "")
	fs.StringVar(&f.datacenters, "datacenters", "", "")
	fs.BoolVar(&f.jobs, "jobs", false, "")
	// NAME may come before or after the flags: `server start s2 -version V`.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.Stdout, sandboxHelp)
			return exitOK
		}
		fmt.Fprint(s.Stderr, sandboxHelp)
		return exitUsage
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	needsName := strings.Contains(sub, " ")
	if needsName && name == "" {
		fmt.Fprintf(s.Stderr, "nrun sandbox %s: missing NAME\n", sub)
		return exitUsage
	}
	if f.dir == "" {
		f.dir = s.Getenv("NRUN_SANDBOX_DIR")
	}
	if f.dir == "" {
		f.dir = filepath.Join(".nrun", "sandbox")
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	opts := sandbox.Options{
		Binaries: &sandbox.Binaries{Progress: s.Stderr, Getenv: s.Getenv},
		Progress: s.Stderr,
		Detach:   true,
	}
	if err := sandboxDo(ctx, s, sub, name, f, opts); err != nil {
		fmt.Fprintf(s.Stderr, "nrun sandbox %s: %v\n", sub, err)
		return exitError
	}
	return exitOK
}

func sandboxDo(ctx context.Context, s *streams, sub, name string, f sandboxFlags, opts sandbox.Options) error {
	switch sub {
	case "build":
		for _, p := range sandbox.Pinned() {
			path, err := opts.Binaries.Path(ctx, sandbox.Product(p[0]), p[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Stdout, "%s %s %s\n", p[0], p[1], path)
		}
		return nil
	case "up":
		c, err := sandbox.Open(f.dir, opts)
		if err == nil {
			if f.secure && !c.Secure() {
				return fmt.Errorf("%s holds a sandbox without TLS and ACLs; take it down first (nrun sandbox down) to start a secure one", c.Root())
			}
			fmt.Fprintf(s.Stderr, "nrun sandbox: %s exists; starting any stopped agent\n", c.Root())
			if err := c.Resume(ctx); err != nil {
				return err
			}
		} else {
			if !errors.Is(err, sandbox.ErrNoSandbox) {
				return err
			}
			version := f.version
			if version == "" {
				version = sandbox.DefaultNomadVersion
			}
			spec := sandbox.DefaultSpec(f.dir, f.servers, f.clients, f.consul, version)
			for i := range spec.Servers {
				if f.prefix != "" {
					spec.Servers[i].Name = fmt.Sprintf("%sserver-%d", f.prefix, i+1)
				}
				spec.Servers[i].ConsulAgent = f.consulAgent
			}
			for i := range spec.Clients {
				if f.prefix != "" {
					spec.Clients[i].Name = fmt.Sprintf("%sclient-%d", f.prefix, i+1)
				}
				if f.cliVer != "" {
					spec.Clients[i].Version = f.cliVer
				}
				spec.Clients[i].ConsulAgent = f.consulAgent
			}
			spec.SpreadClients(listFlag(f.pools), listFlag(f.datacenters))
			spec.ReadyTimeout = f.timeout
			spec.ConsulVersion = f.consulVersion
			spec.ConsulNamePrefix = f.prefix
			spec.Secure = f.secure
			spec.Options = opts
			if c, err = sandbox.Start(ctx, spec); err != nil {
				return err
			}
		}
		if f.jobs {
			jctx, cancel := context.WithTimeout(ctx, f.timeout)
			defer cancel()
			if err := c.RunFleetJobs(jctx, nil); err != nil {
				return err
			}
		}
		leader, _ := c.Leader()
		fmt.Fprintf(s.Stdout, "sandbox up in %s (leader %s)\n", c.Root(), leader)
		return nil
	}
	c, err := sandbox.Open(f.dir, opts)
	if err != nil {
		if errors.Is(err, sandbox.ErrNoSandbox) && sub == "down" {
			fmt.Fprintf(s.Stdout, "no sandbox in %s\n", f.dir)
			return nil
		}
		return err
	}
	switch sub {
	case "down":
		if err := c.Stop(); err != nil {
			// After a crash another program may hold a recorded port; that
			// is no reason to keep the directory once none of our processes
			// is left.
			if len(c.Processes()) > 0 {
				return err
			}
			fmt.Fprintf(s.Stderr, "nrun sandbox down: warning: %v\n", err)
		}
		if err := os.RemoveAll(c.Root()); err != nil {
			return err
		}
		fmt.Fprintf(s.Stdout, "sandbox down: %s removed\n", c.Root())
	case "status":
		st := c.Status()
		if f.json {
			enc := json.NewEncoder(s.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		return st.WriteText(s.Stdout)
	case "env":
		for _, kv := range c.Env() {
			k, v, _ := strings.Cut(kv, "=")
			fmt.Fprintf(s.Stdout, "export %s=%s\n", k, shellQuote(v))
		}
	case "balance":
		l, err := net.Listen("tcp", f.listen)
		if err != nil {
			return err
		}
		// A secure sandbox's balancer speaks TLS as its servers do, so the
		// rest of `nrun sandbox env` applies to it unchanged.
		scheme := "http"
		cfg, err := c.ServerTLS()
		if err != nil {
			l.Close()
			return err
		}
		if cfg != nil {
			l, scheme = tls.NewListener(l, cfg), "https"
		}
		srv := &http.Server{Handler: c.Balancer()}
		go func() {
			<-ctx.Done()
			srv.Close()
		}()
		fmt.Fprintf(s.Stdout, "export NOMAD_ADDR=%s://%s\n", scheme, l.Addr())
		fmt.Fprintf(s.Stderr, "nrun sandbox balance: serving on %s until interrupted\n", l.Addr())
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case "consul-agents":
		agents := c.ConsulAgents()
		names := make([]string, 0, len(agents))
		for n := range agents {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintln(s.Stdout, "# The HTTP address of each sandbox agent's own Consul agent, by node name.")
		fmt.Fprintln(s.Stdout, "consul_agents = {")
		for _, n := range names {
			fmt.Fprintf(s.Stdout, "  %q = %q\n", n, agents[n])
		}
		fmt.Fprintln(s.Stdout, "}")
	case "server add":
		return c.AddServer(ctx, sandbox.ServerSpec{Name: name, Version: f.version, ConsulAgent: f.consulAgent})
	case "client add":
		return c.AddClient(ctx, sandbox.ClientSpec{Name: name, NodePool: f.pool, Datacenter: f.dc, Meta: f.meta, Version: f.version, ConsulAgent: f.consulAgent})
	default:
		if op := agentOp(c, sub, f.version); op != nil {
			return op(ctx, name)
		}
		return fmt.Errorf("unknown subcommand %q; see nrun sandbox -help", sub)
	}
	return nil
}

// agentOp is the operation of the `nrun sandbox KIND VERB NAME`
// subcommand sub (e.g. "consul start") on c, or nil when sub is not one.
// Those that take a version get -version's.
func agentOp(c *sandbox.Cluster, sub, version string) func(ctx context.Context, name string) error {
	byName := map[string]func(context.Context, string) error{
		"server stop": c.StopServer, "server kill": c.KillServer, "server remove": c.RemoveServer,
		"client stop": c.StopClient, "client remove": c.RemoveClient,
		"consul stop": c.StopConsulServer, "consul kill": c.KillConsulServer, "consul remove": c.RemoveConsulServer,
		"consul agent": c.AddConsulAgent,
	}
	withVersion := map[string]func(context.Context, string, string) error{
		"server start": c.StartServer, "client start": c.StartClient,
		"consul start": c.StartConsulServer, "consul add": c.AddConsulServer,
	}
	if op, ok := byName[sub]; ok {
		return op
	}
	if op, ok := withVersion[sub]; ok {
		return func(ctx context.Context, name string) error { return op(ctx, name, version) }
	}
	return nil
}

// shellQuote quotes v for a POSIX shell when it holds anything but
// characters no shell treats specially in an argument, so a printed
// command can be pasted as it is.
func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// listFlag splits a comma-separated flag value, dropping empty items.
func listFlag(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
