package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/cluster"
)

// nomadAPI is the write side of Nomad for actions. Package cluster only
// reads; actions build their API calls here, from the same resolved Config
// (the token included, which never leaves this struct).
type nomadAPI struct{ c *nomad.Client }

func newNomadAPI(cfg cluster.Config) (*nomadAPI, error) {
	c, err := cluster.NomadAPI(cfg)
	if err != nil {
		return nil, fmt.Errorf("configure the Nomad client: %w", err)
	}
	return &nomadAPI{c: c}, nil
}

func wq(ctx context.Context) *nomad.WriteOptions { return (&nomad.WriteOptions{}).WithContext(ctx) }

func qo(ctx context.Context) *nomad.QueryOptions {
	return (&nomad.QueryOptions{AllowStale: true}).WithContext(ctx)
}

func (a *nomadAPI) transferLeadership(ctx context.Context, id, addr string) error {
	if id != "" {
		return a.c.Operator().RaftTransferLeadershipByID(id, wq(ctx))
	}
	return a.c.Operator().RaftTransferLeadershipByAddress(addr, wq(ctx))
}

func (a *nomadAPI) snapshot(ctx context.Context) (io.ReadCloser, error) {
	return a.c.Operator().Snapshot((&nomad.QueryOptions{}).WithContext(ctx))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
