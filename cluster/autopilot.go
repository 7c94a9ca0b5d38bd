package cluster

import (
	"context"
	"errors"
	"time"
)

// StabilizationTime returns autopilot's ServerStabilizationTime of the
// Nomad cluster (consul false) or of the Consul cluster: how long a server
// must stay healthy before autopilot counts it stable. A procedure that
// restarts servers one at a time waits this long after each comes back,
// so the next is only touched once autopilot itself trusts the last.
func (c *Client) StabilizationTime(ctx context.Context, consul bool) (time.Duration, error) {
	if consul {
		if c.consul == nil {
			return 0, errors.New("no Consul cluster is configured")
		}
		cfg, err := c.consul.Operator().AutopilotGetConfiguration(c.consulQuery(ctx))
		if err != nil {
			return 0, c.consulErr("read the autopilot configuration", err)
		}
		if cfg == nil || cfg.ServerStabilizationTime == nil {
			return 0, nil
		}
		return cfg.ServerStabilizationTime.Duration(), nil
	}
	if c.nomad == nil {
		return 0, errors.New("no Nomad cluster is configured")
	}
	cfg, _, err := c.nomad.Operator().AutopilotGetConfiguration(c.nomadQuery(ctx))
	if err != nil {
		return 0, c.nomadErr("read the autopilot configuration", err)
	}
	if cfg == nil {
		return 0, nil
	}
	return cfg.ServerStabilizationTime, nil
}
