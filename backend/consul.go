package backend

import (
	"context"
	"fmt"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/nrun-dev/nrun/cluster"
)

// consulStore is Consul KV. The lock is a session (TTL, lock delay,
// behaviour release) acquiring the lock key; every write is a transaction
// that checks the session still holds the lock key and does a
// check-and-set on the written key's ModifyIndex, as Terraform's consul
// backend writes its state.
type consulStore struct {
	c    *consul.Client
	addr string
	path string
}

// ConsulChunk is the size of one chunk of a journal in Consul KV. Consul
// takes values up to kv_max_value_size (512 KiB by default), but every
// record rewrites the last chunk, so a small chunk keeps each write cheap:
// 1,000 no-op steps cost 3.6 ms a step with 64 KiB chunks and 2.4 ms with
// 16 KiB ones (TestMirrorCost).
const ConsulChunk = 16 << 10

func newConsulStore(cfg cluster.Config, bc Config) (*consulStore, error) {
	c, err := cluster.ConsulAPI(cfg)
	if err != nil {
		return nil, fmt.Errorf("the consul backend: cannot configure the client: %v", err)
	}
	return &consulStore{c: c, addr: cluster.ShownAddress(cfg.ConsulAddress), path: bc.Path}, nil
}

func (s *consulStore) where() string  { return "Consul KV " + s.path + " at " + s.addr }
func (s *consulStore) chunkSize() int { return ConsulChunk }

func wctx(ctx context.Context) *consul.WriteOptions {
	return (&consul.WriteOptions{}).WithContext(ctx)
}

func qctx(ctx context.Context) *consul.QueryOptions {
	// Consistent reads: a copy read from a follower that lags would look
	// damaged or old.
	return (&consul.QueryOptions{RequireConsistent: true}).WithContext(ctx)
}

func (s *consulStore) get(ctx context.Context, key string) ([]byte, uint64, error) {
	kv, _, err := s.c.KV().Get(key, qctx(ctx))
	if err != nil {
		return nil, 0, err
	}
	if kv == nil {
		return nil, 0, errNotFound
	}
	return kv.Value, kv.ModifyIndex, nil
}

func (s *consulStore) put(ctx context.Context, key string, val []byte, index uint64, fence lease) (uint64, error) {
	var ops consul.TxnOps
	if f, ok := fence.(*consulLease); ok {
		ops = append(ops, &consul.TxnOp{KV: &consul.KVTxnOp{Verb: consul.KVCheckSession, Key: f.key, Session: f.session}})
	}
	ops = append(ops, &consul.TxnOp{KV: &consul.KVTxnOp{Verb: consul.KVCAS, Key: key, Value: val, Index: index}})
	ok, resp, _, err := s.c.Txn().Txn(ops, qctx(ctx))
	if err != nil {
		return 0, err
	}
	if !ok {
		for _, e := range resp.Errors {
			if len(ops) == 2 && e.OpIndex == 0 {
				return 0, &LostError{Where: s.where(), Why: "its session no longer holds the lock key: " + e.What}
			}
		}
		return 0, errConflict
	}
	for _, r := range resp.Results {
		if r.KV != nil && r.KV.Key == key {
			return r.KV.ModifyIndex, nil
		}
	}
	return 0, fmt.Errorf("consul answered the write of %s without its index", key)
}

func (s *consulStore) keys(ctx context.Context, prefix string) ([]string, error) {
	ks, _, err := s.c.KV().Keys(prefix, "", qctx(ctx))
	return ks, err
}

func (s *consulStore) del(ctx context.Context, key string) error {
	_, err := s.c.KV().Delete(key, wctx(ctx))
	return err
}

type consulLease struct {
	s       *consulStore
	key     string
	session string
}

func (s *consulStore) acquire(ctx context.Context, key string, holder []byte, ttl, delay time.Duration) (lease, error) {
	id, _, err := s.c.Session().Create(&consul.SessionEntry{
		Name: "nrun lock " + key, TTL: ttl.String(), LockDelay: delay, Behavior: consul.SessionBehaviorRelease,
	}, wctx(ctx))
	if err != nil {
		return nil, fmt.Errorf("create a session: %w", err)
	}
	ok, _, err := s.c.KV().Acquire(&consul.KVPair{Key: key, Value: holder, Session: id}, wctx(ctx))
	if err != nil || !ok {
		s.c.Session().Destroy(id, wctx(context.Background()))
		if err != nil {
			return nil, err
		}
		return nil, &LockedError{}
	}
	return &consulLease{s: s, key: key, session: id}, nil
}

func (l *consulLease) renew(ctx context.Context) error {
	e, _, err := l.s.c.Session().Renew(l.session, wctx(ctx))
	if err != nil {
		if strings.Contains(err.Error(), "404") {
			return &LostError{Where: l.s.where(), Why: "its session is gone"}
		}
		return err
	}
	if e == nil {
		return &LostError{Where: l.s.where(), Why: "its session is gone"}
	}
	// The session lives; it must still hold the key (force-unlock
	// destroys the session, but be sure).
	kv, _, err := l.s.c.KV().Get(l.key, qctx(ctx))
	if err != nil {
		return err
	}
	if kv == nil || kv.Session != l.session {
		return &LostError{Where: l.s.where(), Why: "its session no longer holds the lock key"}
	}
	return nil
}

func (l *consulLease) release(ctx context.Context) error {
	_, _, err := l.s.c.KV().Release(&consul.KVPair{Key: l.key, Session: l.session}, wctx(ctx))
	if _, derr := l.s.c.Session().Destroy(l.session, wctx(ctx)); err == nil {
		err = derr
	}
	return err
}

func (l *consulLease) update(ctx context.Context, holder []byte) error {
	// Acquiring a key the session holds again rewrites its value.
	ok, _, err := l.s.c.KV().Acquire(&consul.KVPair{Key: l.key, Value: holder, Session: l.session}, wctx(ctx))
	if err == nil && !ok {
		return &LostError{Where: l.s.where(), Why: "its session no longer holds the lock key"}
	}
	return err
}

func (s *consulStore) peekLock(ctx context.Context, key string) ([]byte, bool, error) {
	kv, _, err := s.c.KV().Get(key, qctx(ctx))
	if err != nil || kv == nil {
		return nil, false, err
	}
	return kv.Value, kv.Session != "", nil
}

func (s *consulStore) breakLock(ctx context.Context, key string) error {
	kv, _, err := s.c.KV().Get(key, qctx(ctx))
	if err != nil || kv == nil || kv.Session == "" {
		return err
	}
	_, err = s.c.Session().Destroy(kv.Session, wctx(ctx))
	return err
}
