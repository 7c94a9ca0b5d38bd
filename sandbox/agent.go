package sandbox

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Kind is what an agent is.
type Kind string

const (
	NomadServer  Kind = "nomad-server"
	NomadClient  Kind = "nomad-client"
	ConsulServer Kind = "consul-server"
	// ConsulClient is a Consul client agent that belongs to one Nomad
	// agent, as on a real host: it has the Nomad agent's name as its node
	// name, the Nomad agent registers its services through it, and Consul
	// node maintenance of that host is set on it.
	ConsulClient Kind = "consul-client"
)

// Ports are an agent's loopback ports. Unused ones are zero.
type Ports struct {
	HTTP    int `json:"http"`
	RPC     int `json:"rpc,omitempty"`
	Serf    int `json:"serf,omitempty"`
	SerfWAN int `json:"serf_wan,omitempty"`
}

// Agent is one agent process as recorded in the state file. PID is the
// process last started (0 when stopped by the sandbox).
type Agent struct {
	Kind       Kind              `json:"kind"`
	Name       string            `json:"name"`
	Version    string            `json:"version"`
	Binary     string            `json:"binary"`
	PID        int               `json:"pid"`
	Ports      Ports             `json:"ports"`
	Dir        string            `json:"dir"`
	NodePool   string            `json:"node_pool,omitempty"`
	Datacenter string            `json:"datacenter,omitempty"`
	Meta       map[string]string `json:"meta,omitempty"`
	// BootstrapExpect is the number of servers the agent waits for before
	// the first election (Nomad and Consul servers).
	BootstrapExpect int `json:"bootstrap_expect,omitempty"`
}

// DataDir is the agent's data_dir. It survives StopServer/StartServer, which
// is what makes a restart on another version an upgrade.
func (a *Agent) DataDir() string { return filepath.Join(a.Dir, "data") }

// LogFile receives the agent's stdout and stderr.
func (a *Agent) LogFile() string { return filepath.Join(a.Dir, "agent.log") }

func (a *Agent) configFile() string { return filepath.Join(a.Dir, "agent.hcl") }

// HTTPAddr is the agent's HTTP API as host:port.
func (a *Agent) HTTPAddr() string { return "127.0.0.1:" + strconv.Itoa(a.Ports.HTTP) }

// RPCAddr is the Raft/RPC address of a server, as Status().Leader reports it.
func (a *Agent) RPCAddr() string { return "127.0.0.1:" + strconv.Itoa(a.Ports.RPC) }

func (a *Agent) product() Product {
	if a.Kind == ConsulServer || a.Kind == ConsulClient {
		return Consul
	}
	return Nomad
}

// freePorts reserves n distinct loopback ports by binding them all at once,
// then releases them for the agents. The ports come from below the kernel's
// ephemeral range: ephemeral ports are what every outgoing connection of
// every agent takes, so a port picked from there can be gone by the time
// the agent binds it. Another process could still take one in between; the
// agent then fails to bind and Start reports its log tail.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	lo, hi := 10000, ephemeralLow()
	if hi-lo < 1000 {
		lo, hi = 0, 0 // odd range settings: fall back to the kernel's choice
	}
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("could not reserve %d loopback ports", n)
		}
		port := 0
		if hi > lo {
			port = lo + rand.IntN(hi-lo)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			if port == 0 {
				return nil, fmt.Errorf("reserve a loopback port: %w", err)
			}
			continue
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(data))
	if len(f) < 1 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// nomadConfig renders the agent's HCL config. servers are all Nomad
// servers (for retry_join and the client's server list); consulHTTP is the
// Consul agent this Nomad agent registers with, or "" for none.
func nomadConfig(a *Agent, st *state, servers []*Agent, consulHTTP string) string {
	var b bytes.Buffer
	q := strconv.Quote
	fmt.Fprintf(&b, "name = %s\nregion = %s\ndatacenter = %s\n", q(a.Name), q(st.Region), q(a.Datacenter))
	fmt.Fprintf(&b, "data_dir = %s\nbind_addr = \"127.0.0.1\"\ndisable_update_check = true\nlog_level = \"INFO\"\n", q(a.DataDir()))
	// SIGINT is a graceful leave (RemoveServer); SIGTERM is a plain stop
	// that keeps the Raft membership (StopServer, the upgrade restart).
	fmt.Fprintf(&b, "leave_on_interrupt = true\nleave_on_terminate = false\n")
	// Clients bind no RPC or serf port, but refuse to start without an
	// advertise address for them on loopback; give every agent all three.
	p := a.Ports
	fmt.Fprintf(&b, "ports {\n  http = %d\n  rpc = %d\n  serf = %d\n}\n", p.HTTP, p.RPC, p.Serf)
	fmt.Fprintf(&b, "advertise {\n  http = \"127.0.0.1:%d\"\n  rpc = \"127.0.0.1:%d\"\n  serf = \"127.0.0.1:%d\"\n}\n", p.HTTP, p.RPC, p.Serf)
	if a.Kind == NomadServer {
		var join []string
		for _, s := range servers {
			if s.Name != a.Name {
				join = append(join, q("127.0.0.1:"+strconv.Itoa(s.Ports.Serf)))
			}
		}
		fmt.Fprintf(&b, "server {\n  enabled = true\n  bootstrap_expect = %d\n  server_join {\n    retry_join = [%s]\n    retry_interval = \"1s\"\n  }\n}\n", a.BootstrapExpect, strings.Join(join, ", "))
		fmt.Fprintf(&b, "autopilot {\n  server_stabilization_time = %s\n}\n", q(st.ServerStabilizationTime.String()))
	} else {
		var rpc []string
		for _, s := range servers {
			rpc = append(rpc, q(s.RPCAddr()))
		}
		fmt.Fprintf(&b, "client {\n  enabled = true\n  servers = [%s]\n  node_pool = %s\n", strings.Join(rpc, ", "), q(a.NodePool))
		// The cloud fingerprinters time out without a metadata service and
		// fail the client's start.
		fmt.Fprintf(&b, "  options {\n    \"fingerprint.denylist\" = \"env_aws,env_gce,env_azure,env_digitalocean\"\n  }\n")
		if len(a.Meta) > 0 {
			keys := make([]string, 0, len(a.Meta))
			for k := range a.Meta {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.WriteString("  meta {\n")
			for _, k := range keys {
				fmt.Fprintf(&b, "    %s = %s\n", q(k), q(a.Meta[k]))
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\nplugin \"raw_exec\" {\n  config {\n    enabled = true\n  }\n}\n")
	}
	if st.Secure != nil {
		b.WriteString(nomadSecureConfig(a, st.Secure))
	}
	if consulHTTP != "" {
		fmt.Fprintf(&b, "consul {\n  address = %s\n", q(consulHTTP))
		if st.Secure != nil {
			b.WriteString(nomadConsulSecure(st.Secure))
		}
		b.WriteString("}\n")
	} else {
		b.WriteString("consul {\n  auto_advertise = false\n  server_auto_join = false\n  client_auto_join = false\n}\n")
	}
	return b.String()
}

// consulArgs are the arguments of a Consul server. A secure one takes its
// HTTPS port from its config file (writeConsulSecure), so no -http-port.
func consulArgs(a *Agent, consuls []*Agent, dc string, secure bool, stab time.Duration) []string {
	p := a.Ports
	args := []string{"agent", "-server",
		"-bootstrap-expect=" + strconv.Itoa(a.BootstrapExpect),
		"-node=" + a.Name, "-datacenter=" + dc,
		"-data-dir=" + a.DataDir(),
		"-bind=127.0.0.1", "-client=127.0.0.1", "-advertise=127.0.0.1",
		"-server-port=" + strconv.Itoa(p.RPC),
		"-serf-lan-port=" + strconv.Itoa(p.Serf), "-serf-wan-port=" + strconv.Itoa(p.SerfWAN),
		"-dns-port=-1", "-grpc-port=-1", "-grpc-tls-port=-1",
		"-disable-host-node-id", "-retry-interval=1s", "-log-level=info",
		"-hcl", "performance { raft_multiplier = 1 }",
	}
	// As for Nomad (ServerStabilizationTime): autopilot's 10s default
	// before a new server votes, and before a restarted one counts
	// stable, only slows the sandbox down.
	if stab > 0 {
		args = append(args, "-hcl", fmt.Sprintf("autopilot { server_stabilization_time = %q }", stab.String()))
	}
	if !secure {
		args = append(args, "-http-port="+strconv.Itoa(p.HTTP))
	}
	for _, c := range consuls {
		if c.Name != a.Name {
			args = append(args, "-retry-join=127.0.0.1:"+strconv.Itoa(c.Ports.Serf))
		}
	}
	return args
}

// consulClientArgs are the arguments of a Consul client agent that joins
// the sandbox's Consul servers. Client agents bind no server or WAN port.
func consulClientArgs(a *Agent, consuls []*Agent, dc string, secure bool) []string {
	p := a.Ports
	args := []string{"agent",
		"-node=" + a.Name, "-datacenter=" + dc,
		"-data-dir=" + a.DataDir(),
		"-bind=127.0.0.1", "-client=127.0.0.1", "-advertise=127.0.0.1",
		"-serf-lan-port=" + strconv.Itoa(p.Serf),
		"-dns-port=-1", "-grpc-port=-1", "-grpc-tls-port=-1",
		"-disable-host-node-id", "-retry-interval=1s", "-log-level=info",
	}
	if !secure {
		args = append(args, "-http-port="+strconv.Itoa(p.HTTP))
	}
	for _, c := range consuls {
		args = append(args, "-retry-join=127.0.0.1:"+strconv.Itoa(c.Ports.Serf))
	}
	return args
}

// spawn starts the agent in its own session (so its process group is its
// own and it survives the caller's terminal), in its directory (so every
// process it forks, including raw_exec tasks, is findable by cwd), with
// output appended to its log file.
func spawn(a *Agent, args []string, detach bool) (*exec.Cmd, error) {
	logf, err := os.OpenFile(a.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "==> nrun sandbox: starting %s %s %s at %s\n", a.Kind, a.Name, a.Version, time.Now().Format(time.RFC3339))
	cmd := exec.Command(a.Binary, args...)
	cmd.Dir = a.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if !detach {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %s: %w", a.Kind, a.Name, err)
	}
	// Start returns once the exec has begun, but the kernel fills the new
	// image's command line in a moment later: until then /proc/PID/cmdline
	// reads empty (seen in about one start in ten). Wait for it, so the
	// first look at the agent never mistakes it for a dead one.
	waitExecVisible(cmd.Process.Pid, a.Dir)
	return cmd, nil
}

// waitExecVisible waits, briefly, until pid's command line is readable and
// names dir, or the process is gone.
func waitExecVisible(pid int, dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || len(cmdline) > 0 || zombie(pid) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// ownedBy reports whether pid is alive (not a zombie) and its command line
// names dir, or its working directory is dir (every agent runs in its own).
// This is how a later process (nrun sandbox down after a crash) tells our
// agent from an unrelated process that reused the PID. The working
// directory matters for a process caught just after its exec, whose command
// line still reads empty.
func ownedBy(pid int, dir string) bool {
	if pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if !bytes.Contains(cmdline, []byte(dir)) {
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err != nil || cwd != dir {
			return false
		}
	}
	return !zombie(pid)
}

// threadsLeft reports whether a thread of pid other than a zombie is
// still there (exiting or not).
func threadsLeft(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X' {
			return true
		}
	}
	return false
}

func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name, which may itself
	// contain ") ".
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	return stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// processesUnder lists live processes that belong to the sandbox at root:
// their command line names root or their working directory is inside it,
// plus all their descendants. Raw_exec tasks and Nomad's executor and logmon
// processes are found this way even after their client died. The calling
// process and its ancestors are never listed.
func processesUnder(root string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := map[int]bool{}
	for pid := os.Getpid(); pid > 1; pid = parentPID(pid) {
		self[pid] = true
	}
	parent := map[int]int{}
	matched := map[int]bool{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || self[pid] {
			continue
		}
		parent[pid] = parentPID(pid)
		if zombie(pid) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if bytes.Contains(cmdline, []byte(root)) || cwd == root || strings.HasPrefix(cwd, root+"/") {
			matched[pid] = true
		}
	}
	// Descendants: repeat until no new process joins.
	for changed := true; changed; {
		changed = false
		for pid, ppid := range parent {
			if !matched[pid] && !self[pid] && matched[ppid] && !zombie(pid) {
				matched[pid] = true
				changed = true
			}
		}
	}
	var out []int
	for pid := range matched {
		out = append(out, pid)
	}
	sort.Ints(out)
	return out
}

func parentPID(pid int) int {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// logTail returns the last n lines of an agent's log.
func logTail(a *Agent, n int) string {
	data, err := os.ReadFile(a.LogFile())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(string(data), n)
}

// unmountUnder detaches every mount below root, deepest first. Nomad
// clients running as root mount tmpfs on each task's secrets and private
// directories; killing the client leaves them mounted, and a mounted
// directory can be neither removed nor reused.
func unmountUnder(root string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil // no /proc: nothing we could have mounted either
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMount(f[4])
		if strings.HasPrefix(p, root+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var failed []string
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL && err != syscall.ENOENT {
			failed = append(failed, fmt.Sprintf("%s: %v", p, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("cannot unmount %s", strings.Join(failed, "; "))
	}
	return nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
