package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/cluster"
)

// nomadStore is Nomad Variables. The lock is a variable lock (Nomad 1.7+:
// a TTL renewed through Client.Locks, and a lock delay); every write is a
// check-and-set on the variable's ModifyIndex. Nomad has no transaction
// that checks a lock and writes another variable, so each write first
// reads the lock (is it still this holder's?), and a holder stops writing
// once its lease may have lapsed (remoteLock.Verify), before Nomad gives
// the lock to anybody else.
type nomadStore struct {
	c    *nomad.Client
	addr string
	path string
}

// NomadChunk is the size of one chunk of a journal in a Nomad variable.
// Nomad refuses a variable whose items (keys and values) exceed 64 KiB;
// every record rewrites the last chunk, so it is kept well under that
// (see ConsulChunk).
const NomadChunk = 16 << 10

// nomadItem is the item a chunk or a lock holder is kept in.
const nomadItem = "v"

func newNomadStore(cfg cluster.Config, bc Config) (*nomadStore, error) {
	nc := &nomad.Config{
		Address:   cfg.NomadAddress,
		Region:    cfg.NomadRegion,
		Namespace: cfg.NomadNamespace,
		SecretID:  cfg.NomadToken.Reveal(),
		TLSConfig: &nomad.TLSConfig{
			CACert:        cfg.NomadCACert,
			ClientCert:    cfg.NomadClientCert,
			ClientKey:     cfg.NomadClientKey,
			TLSServerName: cfg.NomadTLSServerName,
			Insecure:      cfg.NomadSkipVerify,
		},
	}
	c, err := nomad.NewClient(nc)
	if err != nil {
		return nil, errors.New("the nomad backend: cannot configure the client")
	}
	return &nomadStore{c: c, addr: cfg.NomadShown(), path: bc.Path}, nil
}

func (s *nomadStore) where() string  { return "Nomad variables " + s.path + " at " + s.addr }
func (s *nomadStore) chunkSize() int { return NomadChunk }

func (s *nomadStore) get(ctx context.Context, key string) ([]byte, uint64, error) {
	v, _, err := s.c.Variables().Peek(key, (&nomad.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, 0, err
	}
	if v == nil {
		return nil, 0, errNotFound
	}
	return []byte(v.Items[nomadItem]), v.ModifyIndex, nil
}

func (s *nomadStore) put(ctx context.Context, key string, val []byte, index uint64, fence lease) (uint64, error) {
	if f, ok := fence.(*nomadLease); ok && f.id != "" {
		// Nomad cannot check a lock and write another variable in one
		// transaction: read the lock first, so a forced lock stops the
		// writer at its next record rather than at its next renewal.
		lv, _, err := s.c.Variables().Peek(f.v.Path, (&nomad.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return 0, err
		}
		if lv == nil || lv.Lock == nil || lv.Lock.ID != f.id {
			return 0, &LostError{Where: s.where(), Why: "Nomad no longer holds it for this process"}
		}
	}
	v := &nomad.Variable{Path: key, Items: nomad.VariableItems{nomadItem: string(val)}, ModifyIndex: index}
	wo := (&nomad.WriteOptions{}).WithContext(ctx)
	var out *nomad.Variable
	var err error
	if index == 0 {
		out, _, err = s.c.Variables().CheckedCreate(v, wo)
	} else {
		out, _, err = s.c.Variables().CheckedUpdate(v, wo)
	}
	var cas nomad.ErrCASConflict
	if errors.As(err, &cas) {
		return 0, errConflict
	}
	if err != nil {
		return 0, err
	}
	return out.ModifyIndex, nil
}

func (s *nomadStore) keys(ctx context.Context, prefix string) ([]string, error) {
	ms, _, err := s.c.Variables().PrefixList(prefix, (&nomad.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if strings.HasPrefix(m.Path, prefix) {
			out = append(out, m.Path)
		}
	}
	return out, nil
}

func (s *nomadStore) del(ctx context.Context, key string) error {
	_, err := s.c.Variables().Delete(key, (&nomad.WriteOptions{}).WithContext(ctx))
	return err
}

type nomadLease struct {
	s  *nomadStore
	l  *nomad.Locks
	v  nomad.Variable
	id string // the lock's ID as Nomad shows it, "" if it does not
}

func (s *nomadStore) acquire(ctx context.Context, key string, holder []byte, ttl, delay time.Duration) (lease, error) {
	v := nomad.Variable{Path: key, Items: nomad.VariableItems{nomadItem: string(holder)},
		Lock: &nomad.VariableLock{TTL: ttl.String(), LockDelay: delay.String()}}
	l, err := s.c.Locks(nomad.WriteOptions{}, v, nomad.LocksOptionWithMaxRetries(2))
	if err != nil {
		return nil, err
	}
	if _, err := l.Acquire(ctx); err != nil {
		if errors.Is(err, nomad.ErrLockConflict) {
			return nil, &LockedError{}
		}
		return nil, err
	}
	// Locks keeps the lock ID inside; read it back for updates.
	got, _, err := s.c.Variables().Peek(key, (&nomad.QueryOptions{}).WithContext(ctx))
	var id string
	if err == nil && got != nil {
		v.ModifyIndex = got.ModifyIndex
		if got.Lock != nil {
			id = got.Lock.ID
		}
	}
	return &nomadLease{s: s, l: l, v: v, id: id}, nil
}

func (l *nomadLease) renew(ctx context.Context) error {
	err := l.l.Renew(ctx)
	if errors.Is(err, nomad.ErrLockConflict) {
		return &LostError{Where: l.s.where(), Why: "Nomad no longer holds it for this process"}
	}
	return err
}

func (l *nomadLease) release(ctx context.Context) error {
	err := l.l.Release(ctx)
	if errors.Is(err, nomad.ErrLockConflict) {
		return nil // lapsed or forced: not ours any more
	}
	return err
}

func (l *nomadLease) update(ctx context.Context, holder []byte) error {
	// The holder is written when the lock is taken; Locks does not expose
	// the lock ID an update of a locked variable needs, so the run ID is
	// kept in its own variable next to the lock.
	_, _, err := l.s.c.Variables().Update(&nomad.Variable{Path: l.v.Path + "-run", Items: nomad.VariableItems{nomadItem: string(holder)}},
		(&nomad.WriteOptions{}).WithContext(ctx))
	return err
}

func (s *nomadStore) peekLock(ctx context.Context, key string) ([]byte, bool, error) {
	v, _, err := s.c.Variables().Peek(key, (&nomad.QueryOptions{}).WithContext(ctx))
	if err != nil || v == nil {
		return nil, false, err
	}
	held := v.Lock != nil
	val := []byte(v.Items[nomadItem])
	if run, _, err := s.c.Variables().Peek(key+"-run", (&nomad.QueryOptions{}).WithContext(ctx)); err == nil && run != nil && held {
		// The run ID the holder recorded, when it is this holder's.
		if r := run.Items[nomadItem]; sameHolder(val, []byte(r)) {
			val = []byte(r)
		}
	}
	return val, held, nil
}

func (s *nomadStore) breakLock(ctx context.Context, key string) error {
	v, _, err := s.c.Variables().Peek(key, (&nomad.QueryOptions{}).WithContext(ctx))
	if err != nil || v == nil || v.Lock == nil {
		return err
	}
	if v.Lock.ID == "" {
		return fmt.Errorf("Nomad did not show the lock's ID to this token, so it cannot release it; a token with write on %s can", key)
	}
	_, _, err = s.c.Variables().ReleaseLock(&nomad.Variable{Path: key, Lock: &nomad.VariableLock{ID: v.Lock.ID}}, (&nomad.WriteOptions{}).WithContext(ctx))
	return err
}
