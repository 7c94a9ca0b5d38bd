package sandbox

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// restartable is how the stop, kill and start operations treat one kind
// of agent: the Nomad servers, the Nomad clients and the Consul servers
// are stopped and started again the same way and differ only in how their
// errors name them and in when a started agent is back.
type restartable struct {
	kind Kind
	// label names the agent in errors: "server s1 is not running".
	label string
	// back waits until agent a, started again at since, serves again.
	back func(c *Cluster, ctx context.Context, a *Agent, since time.Time) error
	// waitUnlocked lets other commands change the sandbox while back
	// waits (the next client's start, with max_parallel above 1).
	waitUnlocked bool
}

var (
	nomadServers = restartable{kind: NomadServer, label: "server",
		back: func(c *Cluster, ctx context.Context, a *Agent, _ time.Time) error { return c.waitServerUp(ctx, a) }}
	nomadClients = restartable{kind: NomadClient, label: "client", waitUnlocked: true,
		back: func(c *Cluster, ctx context.Context, a *Agent, since time.Time) error {
			return c.waitClientBack(ctx, a, since)
		}}
	consulServers = restartable{kind: ConsulServer, label: "Consul server",
		back: func(c *Cluster, ctx context.Context, a *Agent, _ time.Time) error {
			return c.waitConsulServerUp(ctx, a)
		}}
)

// stopAgent stops a running agent with SIGTERM and waits for it to exit
// (SIGKILL after 30s); its data dir is kept.
func (c *Cluster) stopAgent(ctx context.Context, r restartable, name string) error {
	t0 := time.Now()
	if err := c.signalAgent(ctx, r, name, syscall.SIGTERM, 30*time.Second); err != nil {
		return err
	}
	c.mu.Lock()
	c.phase("stop "+name, t0)
	c.mu.Unlock()
	return nil
}

// killAgent sends SIGKILL to a running agent: a crash, not a shutdown.
func (c *Cluster) killAgent(ctx context.Context, r restartable, name string) error {
	return c.signalAgent(ctx, r, name, syscall.SIGKILL, 10*time.Second)
}

// signalAgent sends sig to a running agent under the state lock and waits
// up to grace for it to exit (then SIGKILL).
func (c *Cluster) signalAgent(ctx context.Context, r restartable, name string, sig syscall.Signal, grace time.Duration) error {
	done, _, err := c.lockEdit(ctx)
	if err != nil {
		return err
	}
	defer done()
	a, err := c.find(r.kind, name)
	if err != nil {
		return err
	}
	if !c.running(a) {
		return fmt.Errorf("%s %s is not running", r.label, name)
	}
	return c.signal(a, sig, grace)
}

// startAgent starts a stopped agent on its old data dir and ports. A
// non-empty version swaps the binary first: the restart step of an
// upgrade. It returns once r.back says the agent serves again.
func (c *Cluster) startAgent(ctx context.Context, r restartable, name, version string) error {
	done, release, err := c.lockEdit(ctx)
	if err != nil {
		return err
	}
	defer done()
	a, err := c.find(r.kind, name)
	if err != nil {
		return err
	}
	if c.running(a) {
		return fmt.Errorf("%s %s is already running (pid %d); stop it first", r.label, name, a.PID)
	}
	t0 := time.Now()
	if version != "" && version != a.Version {
		bin, err := c.binaries().Path(ctx, a.product(), version)
		if err != nil {
			return err
		}
		a.Version, a.Binary = version, bin
	}
	if err := c.spawn(a); err != nil {
		return err
	}
	if r.waitUnlocked {
		release()
	}
	if err := r.back(c, ctx, a, t0); err != nil {
		return c.withTails(err)
	}
	c.phase("start "+name, t0)
	return nil
}

// lockEdit takes c.mu and the sandbox's edit lock. done releases what is
// still held; release lets go of the edit lock alone, early, so that other
// commands may change the sandbox while this one waits for its agents
// (c.mu stays held until done).
func (c *Cluster) lockEdit(ctx context.Context) (done, release func(), err error) {
	c.mu.Lock()
	unlock, err := c.edit(ctx)
	if err != nil {
		c.mu.Unlock()
		return nil, nil, err
	}
	release = once(unlock)
	return func() {
		release()
		c.mu.Unlock()
	}, release, nil
}

// memberSeen is one serf member as one server sees it.
type memberSeen struct {
	name, status string
	alive        bool
	version      string
}

// seenByAll reports whether every running server of kind k sees member
// alive on version (gossip reaches them at different times, and a caller
// may ask any of them), and if not, what one of them sees. members reads
// one server's member list.
func (c *Cluster) seenByAll(k Kind, member, version string, members func(viewer *Agent) ([]memberSeen, error)) (bool, string) {
	for _, viewer := range c.agents(k) {
		if !c.running(viewer) {
			continue
		}
		ms, err := members(viewer)
		if err != nil {
			return false, fmt.Sprintf("members from %s: %v", viewer.Name, err)
		}
		found := false
		for _, m := range ms {
			if m.name == member {
				found = true
				if !m.alive || m.version != version {
					return false, fmt.Sprintf("%s sees member %s status=%s build=%s", viewer.Name, m.name, m.status, m.version)
				}
			}
		}
		if !found {
			return false, fmt.Sprintf("%s does not see member %s yet", viewer.Name, member)
		}
	}
	return true, ""
}
