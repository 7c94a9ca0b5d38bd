package sandbox

import (
	"fmt"
	"io"
	"regexp"
	"time"
)

// ServerSpec is one Nomad server.
type ServerSpec struct {
	Name string
	// Version is the Nomad version to run; empty means DefaultNomadVersion.
	Version string
	// ConsulAgent gives the server its own Consul client agent, named like
	// the server, as on a real host (see ConsulClient). It needs Consul
	// servers in the sandbox.
	ConsulAgent bool
}

// ClientSpec is one Nomad client node.
type ClientSpec struct {
	Name string
	// NodePool is created by the client's registration when it doesn't
	// exist yet. Empty means "default".
	NodePool string
	// Datacenter empty means the spec's Datacenter.
	Datacenter string
	Meta       map[string]string
	// Version empty means DefaultNomadVersion. Keep clients at or below the
	// servers' version, as in a real fleet.
	Version string
	// ConsulAgent gives the client its own Consul client agent, as
	// ServerSpec.ConsulAgent does.
	ConsulAgent bool
}

// Options are the parts of a sandbox that are about this process, not the
// cluster: where binaries come from, where progress goes, and whether agents
// outlive the process.
type Options struct {
	// Binaries finds or builds agents; nil means a zero Binaries.
	Binaries *Binaries
	// Progress receives one line per phase and per operation; nil discards.
	Progress io.Writer
	// Detach lets agents outlive this process (the CLI). Without it every
	// agent gets SIGKILL when the process that started it dies, so a crashed
	// or timed-out test binary does not leave agents behind.
	Detach bool
}

// Spec describes a sandbox cluster.
type Spec struct {
	Servers []ServerSpec
	Clients []ClientSpec
	// ConsulServers is the number of Consul servers (0, 1, 3, 5). With
	// none, Nomad runs without Consul integration.
	ConsulServers int
	// ConsulVersion empty means DefaultConsulVersion.
	ConsulVersion string
	// ConsulNamePrefix names the Consul servers PREFIXconsul-1,
	// PREFIXconsul-2, ... (blue-consul-1 for "blue-"); empty names them
	// consul1, consul2, ...
	ConsulNamePrefix string
	// Root holds the state file and one directory per agent. Required.
	Root string
	// Region empty means "global"; Datacenter empty means "dc1".
	Region     string
	Datacenter string
	// ServerStabilizationTime is Nomad autopilot's wait before a new server
	// becomes a voter. Zero means 2s: Nomad's 10s default only slows tests.
	ServerStabilizationTime time.Duration
	// ReadyTimeout bounds Start and every wait of later operations. Zero
	// means 2 minutes.
	ReadyTimeout time.Duration
	// Secure starts the cluster with mutual TLS (Nomad HTTP and RPC,
	// Consul HTTPS and internal RPC, verify_server_hostname) from a CA and
	// certificates written to Root/tls, and ACLs with default deny on
	// Nomad and Consul, bootstrapped with management tokens nrun chooses.
	Secure bool

	Options
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,40}$`)

func (s *Spec) setDefaults() {
	if s.Region == "" {
		s.Region = "global"
	}
	if s.Datacenter == "" {
		s.Datacenter = "dc1"
	}
	if s.ConsulVersion == "" {
		s.ConsulVersion = DefaultConsulVersion
	}
	if s.ServerStabilizationTime == 0 {
		s.ServerStabilizationTime = 2 * time.Second
	}
	if s.ReadyTimeout == 0 {
		s.ReadyTimeout = 2 * time.Minute
	}
	for i := range s.Servers {
		if s.Servers[i].Version == "" {
			s.Servers[i].Version = DefaultNomadVersion
		}
	}
	for i := range s.Clients {
		c := &s.Clients[i]
		if c.Version == "" {
			c.Version = DefaultNomadVersion
		}
		if c.NodePool == "" {
			c.NodePool = "default"
		}
		if c.Datacenter == "" {
			c.Datacenter = s.Datacenter
		}
	}
}

func (s *Spec) validate() error {
	if s.Root == "" {
		return fmt.Errorf("sandbox spec: Root is required")
	}
	if len(s.Servers) == 0 {
		return fmt.Errorf("sandbox spec: at least one Nomad server is required")
	}
	if s.ConsulServers < 0 || s.ConsulServers > 7 {
		return fmt.Errorf("sandbox spec: ConsulServers is %d, want 0 to 7", s.ConsulServers)
	}
	if s.ConsulNamePrefix != "" && !nameRE.MatchString(s.ConsulNamePrefix+"consul-1") {
		return fmt.Errorf("sandbox spec: ConsulNamePrefix %q must be lower-case letters, digits and dashes", s.ConsulNamePrefix)
	}
	seen := map[string]bool{}
	check := func(kind, name string) error {
		if !nameRE.MatchString(name) {
			return fmt.Errorf("sandbox spec: %s name %q must be lower-case letters, digits and dashes", kind, name)
		}
		if seen[name] {
			return fmt.Errorf("sandbox spec: name %q is used twice; every agent needs its own name", name)
		}
		seen[name] = true
		return nil
	}
	for _, sv := range s.Servers {
		if err := check("server", sv.Name); err != nil {
			return err
		}
		if sv.ConsulAgent && s.ConsulServers == 0 {
			return fmt.Errorf("sandbox spec: server %s asks for its own Consul agent, but the sandbox has no Consul servers to join", sv.Name)
		}
	}
	for _, c := range s.Clients {
		if err := check("client", c.Name); err != nil {
			return err
		}
		if c.ConsulAgent && s.ConsulServers == 0 {
			return fmt.Errorf("sandbox spec: client %s asks for its own Consul agent, but the sandbox has no Consul servers to join", c.Name)
		}
	}
	return nil
}

// DefaultSpec is the cluster `nrun sandbox up` starts: servers s1..sN,
// clients c1..cM, and consul Consul servers, all Nomad agents on version.
func DefaultSpec(root string, servers, clients, consul int, version string) Spec {
	s := Spec{Root: root, ConsulServers: consul}
	for i := 1; i <= servers; i++ {
		s.Servers = append(s.Servers, ServerSpec{Name: fmt.Sprintf("s%d", i), Version: version})
	}
	for i := 1; i <= clients; i++ {
		s.Clients = append(s.Clients, ClientSpec{Name: fmt.Sprintf("c%d", i), Version: version})
	}
	return s
}
