package backend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
)

// Kind names a backend.
type Kind string

// Backend kinds.
const (
	Local  Kind = "local"  // the state directory: today's files
	Consul Kind = "consul" // Consul KV, locked through a session
	Nomad  Kind = "nomad"  // Nomad Variables, locked through a variable lock
)

// ParseKind reads a -backend value or a backend block's label.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Local, Consul, Nomad:
		return k, nil
	}
	return "", fmt.Errorf("unknown backend %q: use local, consul or nomad", s)
}

// Defaults of the lock and the mirror; the environment overrides them
// (Config.FromEnv), which is how tests make them short.
const (
	DefaultLockTTL   = 15 * time.Second
	DefaultLockDelay = 15 * time.Second
	DefaultWriteWait = 2 * time.Minute
	DefaultKeep      = 20
)

// Config selects and tunes a backend.
type Config struct {
	Kind Kind
	// Path is the key prefix (consul) or variable path (nomad) of the
	// runbook: DefaultPath when empty.
	Path string
	// Cluster is where the store is: its addresses and tokens (resolved
	// against the environment by Open).
	Cluster cluster.Config
	// Getenv resolves Cluster; os.Getenv when nil.
	Getenv func(string) string
	// StateDir is the local backend's state directory.
	StateDir string
	// LockTTL is how long the lock holds without a renewal (at least
	// 10s: both stores refuse less); LockDelay how long after a lapse
	// nobody may take it.
	LockTTL, LockDelay time.Duration
	// WriteWait bounds how long a write waits for a store that cannot be
	// written (a leader election, a restarting server).
	WriteWait time.Duration
	// Keep is how many finished runs of the runbook are kept.
	Keep int
	// ChunkSize overrides the store's chunk size (tests).
	ChunkSize int
}

// Environment variables that tune a backend.
const (
	EnvLockTTL   = "NRUN_BACKEND_LOCK_TTL"
	EnvLockDelay = "NRUN_BACKEND_LOCK_DELAY"
	EnvWriteWait = "NRUN_BACKEND_WAIT"
	EnvKeep      = "NRUN_BACKEND_KEEP"
)

// FromEnv fills the zero tuning fields from the environment, then the
// defaults.
func (c *Config) FromEnv(getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	dur := func(dst *time.Duration, env string, def time.Duration) error {
		if *dst != 0 {
			return nil
		}
		*dst = def
		if v := getenv(env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("%s=%q is not a duration", env, v)
			}
			*dst = d
		}
		return nil
	}
	if err := dur(&c.LockTTL, EnvLockTTL, DefaultLockTTL); err != nil {
		return err
	}
	if err := dur(&c.LockDelay, EnvLockDelay, DefaultLockDelay); err != nil {
		return err
	}
	if err := dur(&c.WriteWait, EnvWriteWait, DefaultWriteWait); err != nil {
		return err
	}
	if c.LockTTL < 10*time.Second {
		return fmt.Errorf("the backend lock TTL %s is below 10s, which Consul and Nomad refuse", c.LockTTL)
	}
	if c.Keep == 0 {
		c.Keep = DefaultKeep
		if v := getenv(EnvKeep); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%s=%q is not a positive number", EnvKeep, v)
			}
			c.Keep = n
		}
	}
	return nil
}

var unsafePath = regexp.MustCompile(`[^a-zA-Z0-9_~/-]+`)

// DefaultPath is the path of a runbook's state: nrun/NAME, NAME made of
// the characters Nomad variable paths allow.
func DefaultPath(runbookName string) string {
	n := strings.Trim(unsafePath.ReplaceAllString(runbookName, "-"), "-/")
	if n == "" {
		n = "runbook"
	}
	return "nrun/" + n
}

// Holder says who holds a lock, like Terraform's lock info.
type Holder struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	Who       string    `json:"who"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	RunID     string    `json:"run_id,omitempty"`
	Since     time.Time `json:"since"`
}

func (h Holder) String() string {
	s := fmt.Sprintf("%s on %s (pid %d, lock %s", h.Who, h.Host, h.PID, h.ID)
	if h.RunID != "" {
		s += ", run " + h.RunID
	}
	return s + ", since " + h.Since.Format(time.RFC3339) + ")"
}

// NewHolder describes this process as the holder of a lock.
func NewHolder(operation string) Holder {
	host, _ := os.Hostname()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	return Holder{ID: newID(), Operation: operation, Who: who + "@" + host, Host: host, PID: os.Getpid(), Since: time.Now().UTC().Truncate(time.Second)}
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// LockedError says the lock is held by someone else.
type LockedError struct {
	Where  string
	Kind   Kind
	Holder *Holder // nil while the lock delay of a lapsed lock runs
	Waited time.Duration
}

func (e *LockedError) Error() string {
	s := "the runbook is locked in " + e.Where
	if e.Waited > 0 {
		s += fmt.Sprintf(" (still locked after waiting %s)", e.Waited)
	}
	if e.Holder == nil {
		return s + ": its last holder's lock lapsed and its lock delay still runs; retry in a few seconds (or with -lock-timeout)"
	}
	return s + " by " + e.Holder.String() + ".\nWait for it to finish (or retry with -lock-timeout). If it is certainly gone, remove the lock with:\n  nrun force-unlock -backend=" + string(e.Kind) + " " + e.Holder.ID
}

// LostError says a held lock no longer holds (it lapsed, was forced, or
// could not be renewed): another nrun may run the runbook now.
type LostError struct {
	Where string
	Why   string
}

func (e *LostError) Error() string {
	return "the lock in " + e.Where + " is lost (" + e.Why + "): another nrun may now run this runbook, so this run starts nothing new. " +
		"Check the cluster and 'nrun runs', then continue from any machine with 'nrun apply -resume' and the same backend once no other nrun runs"
}

// ConflictError says a check-and-set write found another writer's value.
type ConflictError struct {
	Where, Key string
}

func (e *ConflictError) Error() string {
	return "another writer changed " + e.Key + " in " + e.Where + " (a check-and-set write failed): another nrun works on this run, so this one starts nothing new. " +
		"Check 'nrun runs' and the cluster before resuming"
}

// Stopping reports whether err means the run must stop so it can be
// resumed (exit 3): the lock is lost, another writer wrote, or the store
// stayed unwritable past its bound.
func Stopping(err error) bool {
	var l *LostError
	var c *ConflictError
	var u *UnavailableError
	return errors.As(err, &l) || errors.As(err, &c) || errors.As(err, &u)
}

// UnavailableError says the store could not be written within the bound.
type UnavailableError struct {
	Where  string
	Waited time.Duration
	Err    error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s could not be written for %s (%v); the run stops rather than start an action the backend does not show. Resume with 'nrun apply -resume' once it answers", e.Where, e.Waited.Round(time.Second), e.Err)
}

// Lock is a held lock.
type Lock interface {
	Holder() Holder
	// Verify fails with a *LostError once the lock no longer holds.
	Verify() error
	// SetRun records the run ID in the lock.
	SetRun(runID string) error
	// Release gives the lock up.
	Release() error
}

// LockOptions tune Backend.Lock.
type LockOptions struct {
	// Timeout is how long to retry while the lock is held.
	Timeout time.Duration
	// Waiting is told once that the lock is held and Lock retries.
	Waiting func(*LockedError)
	// Unavailable is told once that the store does not answer and Lock
	// waits for it (up to Config.WriteWait, or Timeout if longer).
	Unavailable func(error)
	// Lost is told once when a held lock is lost, from the renewal.
	Lost func(error)
}

// Run is a run as the backend holds it.
type Run struct {
	ID string
	// Records are the verified records; State their replay (nil with Err).
	Records []journal.Record
	State   *journal.State
	// Err says why the run cannot be read completely: it is never
	// skipped (a run that cannot be read blocks as a damaged local one)
	// unless it is Abandoned.
	Err error
	// Abandoned is set once an operator gave the run up (nrun apply
	// -abandon): it then blocks nothing and cannot be resumed. It is set
	// for a damaged run too.
	Abandoned *executor.Abandonment
}

// Backend is where a runbook's lock and runs live.
type Backend interface {
	Kind() Kind
	// Where names the store and the path, for messages.
	Where() string
	// Lock takes the runbook's lock for operation.
	Lock(ctx context.Context, operation string, o LockOptions) (Lock, error)
	// ReadLock returns the holder, nil when the lock is free.
	ReadLock(ctx context.Context) (*Holder, error)
	// ForceUnlock removes the lock if its ID is id, recording who forced it.
	ForceUnlock(ctx context.Context, id string) (Holder, error)
	// Runs lists the runs, oldest first.
	Runs(ctx context.Context) ([]Run, error)
	// Fetch returns a run's journal bytes, verified.
	Fetch(ctx context.Context, runID string) ([]byte, error)
	// Mirror opens the copy of a run; nil for the local backend, whose
	// journal is the copy. local are the records the state directory
	// holds of the run: the store's must be their prefix.
	Mirror(ctx context.Context, runID string, local []journal.Record, fence Lock) (*Mirror, error)
	// Abandon gives run runID up for good, recording who (user@host),
	// when and, for a copy that cannot be read, why. fence is the lock
	// the caller holds: the record is written only while it holds.
	Abandon(ctx context.Context, runID string, fence Lock) (*executor.Abandonment, error)
}

// Open returns the backend cfg selects.
func Open(cfg Config) (Backend, error) {
	switch cfg.Kind {
	case "", Local:
		return &localBackend{dir: cfg.StateDir}, nil
	case Consul, Nomad:
	default:
		return nil, fmt.Errorf("unknown backend %q", cfg.Kind)
	}
	if err := cfg.FromEnv(cfg.Getenv); err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, errors.New("the backend needs a path")
	}
	cfg.Path = strings.Trim(cfg.Path, "/")
	if unsafePath.MatchString(cfg.Path) {
		return nil, fmt.Errorf("the backend path %q may hold only letters, digits and - _ ~ /", cfg.Path)
	}
	resolved := cfg.Cluster.Resolve(cfg.Getenv)
	var s store
	var err error
	if cfg.Kind == Consul {
		s, err = newConsulStore(resolved, cfg)
	} else {
		s, err = newNomadStore(resolved, cfg)
	}
	if err != nil {
		return nil, err
	}
	return &remote{s: s, cfg: cfg, kind: cfg.Kind}, nil
}
