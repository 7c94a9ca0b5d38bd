package backend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	c, err := cluster.NomadAPI(cfg)
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
	if f, ok := fence.(*nomadLease); ok {
		// Nomad cannot check a lock and write another variable in one
		// transaction: renewing the lock first (which only its holder
		// can) makes a forced or lapsed lock stop the writer at its next
		// record rather than at its next timed renewal.
		if err := f.renew(ctx); err != nil {
			return 0, err
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
	v  nomad.Variable
	id string // the lock's ID: Nomad shows it to its holder only
}

// acquire takes the variable lock. It uses the Variables lock calls rather
// than Client.Locks, whose handle keeps the lock ID to itself: the ID is
// what renew, release and the fence of every write need, and Nomad shows
// it to no one but the holder (and management tokens).
func (s *nomadStore) acquire(ctx context.Context, key string, holder []byte, ttl, delay time.Duration) (lease, error) {
	v := &nomad.Variable{Path: key, Items: nomad.VariableItems{nomadItem: string(holder)},
		Lock: &nomad.VariableLock{TTL: ttl.String(), LockDelay: delay.String()}}
	out, _, err := s.c.Variables().AcquireLock(v, (&nomad.WriteOptions{}).WithContext(ctx))
	if err != nil {
		if isConflict(err) {
			return nil, &LockedError{}
		}
		return nil, err
	}
	if out == nil || out.Lock == nil || out.Lock.ID == "" {
		return nil, errors.New("Nomad granted the variable lock without its ID")
	}
	return &nomadLease{s: s, v: nomad.Variable{Path: key}, id: out.Lock.ID}, nil
}

func isConflict(err error) bool {
	var ue nomad.UnexpectedResponseError
	return errors.As(err, &ue) && ue.StatusCode() == http.StatusConflict
}

func (l *nomadLease) renew(ctx context.Context) error {
	_, _, err := l.s.c.Variables().RenewLock(&nomad.Variable{Path: l.v.Path, Lock: &nomad.VariableLock{ID: l.id}}, (&nomad.WriteOptions{}).WithContext(ctx))
	if isConflict(err) {
		return &LostError{Where: l.s.where(), Why: "Nomad no longer holds it for this process"}
	}
	return err
}

func (l *nomadLease) release(ctx context.Context) error {
	_, _, err := l.s.c.Variables().ReleaseLock(&nomad.Variable{Path: l.v.Path, Lock: &nomad.VariableLock{ID: l.id}}, (&nomad.WriteOptions{}).WithContext(ctx))
	if isConflict(err) {
		return nil // lapsed or forced: not ours any more
	}
	if err == nil {
		// Clear the holder: only a management token sees whether a
		// variable is locked, so readers go by it (peekLock).
		l.s.c.Variables().Update(&nomad.Variable{Path: l.v.Path, Items: nomad.VariableItems{nomadItem: ""}}, (&nomad.WriteOptions{}).WithContext(ctx))
	}
	return err
}

func (l *nomadLease) update(ctx context.Context, holder []byte) error {
	// The holder of a locked variable may rewrite it with its lock ID.
	_, _, err := l.s.c.Variables().Update(&nomad.Variable{Path: l.v.Path, Items: nomad.VariableItems{nomadItem: string(holder)}, Lock: &nomad.VariableLock{ID: l.id}},
		(&nomad.WriteOptions{}).WithContext(ctx))
	return err
}

func (s *nomadStore) peekLock(ctx context.Context, key string) ([]byte, bool, error) {
	v, _, err := s.c.Variables().Peek(key, (&nomad.QueryOptions{}).WithContext(ctx))
	if err != nil || v == nil {
		return nil, false, err
	}
	// Nomad shows whether a variable is locked to management tokens only;
	// for others the holder's record, cleared at release, says it (a
	// holder that died keeps it until the next one releases).
	val := []byte(v.Items[nomadItem])
	return val, v.Lock != nil || len(val) > 0, nil
}

func (s *nomadStore) breakLock(ctx context.Context, key string) error {
	v, _, err := s.c.Variables().Peek(key, (&nomad.QueryOptions{}).WithContext(ctx))
	if err != nil || v == nil {
		return err
	}
	if v.Lock == nil || v.Lock.ID == "" {
		// Not locked (a holder that died and lapsed), or locked and this
		// token may not see it: an update without the lock ID succeeds
		// only on an unlocked variable, and clears the stale holder.
		_, _, uerr := s.c.Variables().Update(&nomad.Variable{Path: key, Items: nomad.VariableItems{nomadItem: ""}}, (&nomad.WriteOptions{}).WithContext(ctx))
		if uerr == nil {
			return nil
		}
		return fmt.Errorf("Nomad shows a variable lock's ID only to its holder and to management tokens, so this token cannot release the lock on %s; run force-unlock with a management NOMAD_TOKEN", key)
	}
	_, _, err = s.c.Variables().ReleaseLock(&nomad.Variable{Path: key, Lock: &nomad.VariableLock{ID: v.Lock.ID}}, (&nomad.WriteOptions{}).WithContext(ctx))
	return err
}
