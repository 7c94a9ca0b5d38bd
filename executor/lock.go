package executor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockFile is the lock's name inside a state directory.
const LockFile = "nrun.lock"

// LockHistoryFile is the append-only record, inside a state directory, of
// every lock that was broken: by `nrun force-unlock` (who forced it) or as
// stale by the next apply. One JSON object per line.
const LockHistoryFile = "lock-history"

// LockInfo says who holds a state directory, like Terraform's lock info.
type LockInfo struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	Who       string    `json:"who"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Created   time.Time `json:"created"`
	Path      string    `json:"path"`
	// RunID is the run the holder works on, when it has one.
	RunID string `json:"run_id,omitempty"`
	// Token is a random value only the holder knows it wrote: the holder
	// re-reads it (Lock.Verify) to learn that its lock was forced, even
	// when another lock with another ID took its place.
	Token string `json:"token,omitempty"`
}

func (l LockInfo) String() string {
	return fmt.Sprintf("  ID:        %s\n  Path:      %s\n  Operation: %s\n  Who:       %s\n  Host:      %s\n  PID:       %d\n  Created:   %s\n",
		l.ID, l.Path, l.Operation, l.Who, l.Host, l.PID, l.Created.Format(time.RFC3339))
}

// LockedError is returned when another process holds the lock, or may.
type LockedError struct {
	Info LockInfo
	// Held is set when a process holds the lock file's flock: the holder
	// is alive, whatever its PID says (it may run in another PID
	// namespace or container sharing this state directory).
	Held bool
	// Why says why a lock whose flock is free was still not taken over.
	Why string
	// Waited is how long AcquireLock retried (-lock-timeout).
	Waited time.Duration
}

func (e *LockedError) Error() string {
	s := "the state directory is locked by another nrun"
	if e.Waited > 0 {
		s += fmt.Sprintf(" (still locked after waiting %s)", e.Waited)
	}
	s += ":\n" + e.Info.String()
	switch {
	case e.Held:
		s += "\nIts holder is running: it holds the lock file's flock."
	case e.Why != "":
		s += "\n" + e.Why
	}
	return s + "\nWait for it to finish (or retry with -lock-timeout). If it is certainly gone, remove the lock with:\n  nrun force-unlock " + e.Info.ID
}

// LockLostError is returned by Lock.Verify when the lock file no longer
// holds this process's token: someone forced the lock.
type LockLostError struct {
	Info LockInfo
	// Now is the lock that replaced it, when there is one.
	Now *LockInfo
	// Forced is the lock-history entry that removed it, when one is found.
	Forced *LockEvent
}

func (e *LockLostError) Error() string {
	s := fmt.Sprintf("the state lock %s of this run was removed", e.Info.ID)
	if e.Forced != nil {
		s += fmt.Sprintf(" by %s at %s (%s)", e.Forced.By, e.Forced.Time.Format(time.RFC3339), e.Forced.Event)
	}
	if e.Now != nil {
		s += fmt.Sprintf("; the state directory is now locked by %s (lock %s, pid %d on %s)", e.Now.Who, e.Now.ID, e.Now.PID, e.Now.Host)
	}
	return s + ". This run starts nothing new: another nrun may be working on the same state directory. Check the cluster and 'nrun status', then resume with 'nrun apply -resume' once no other nrun runs."
}

// LockEvent is one line of the lock history.
type LockEvent struct {
	Time  time.Time `json:"time"`
	Event string    `json:"event"` // "force-unlock" or "stale-removed"
	By    string    `json:"by"`    // user@host of the process that removed it
	PID   int       `json:"pid"`
	Lock  LockInfo  `json:"lock"`
}

// Lock is a held state-directory lock. The process keeps an exclusive
// flock(2) on the lock file for as long as it holds it: the kernel drops
// it when the process dies, however it dies, and every process sharing the
// file system sees it, whatever PID namespace it runs in. So a free flock
// proves the holder is gone, and a held one proves it is not.
type Lock struct {
	Info LockInfo
	path string
	f    *os.File
}

// LockOptions tune AcquireLock.
type LockOptions struct {
	// Timeout is how long to keep retrying while the lock is held, like
	// terraform's -lock-timeout. 0 fails at once.
	Timeout time.Duration
	// Stale is told about a lock removed because its holder is gone.
	Stale func(LockInfo)
	// Waiting is told, once, that the lock is held and AcquireLock will
	// retry until Timeout.
	Waiting func(*LockedError)
	// Poll is the interval between two tries; default 250ms.
	Poll time.Duration
}

// AcquireLock takes the lock of stateDir for operation. While another
// process holds it, AcquireLock retries until o.Timeout, then fails with a
// *LockedError naming the holder.
//
// A lock is stale, and replaced (reported through o.Stale and recorded in
// the lock history), only when nobody holds its flock and its process ran
// on this host and is gone: a crashed apply must be resumable without a
// manual step. Any doubt refuses: a held flock (the holder may run in
// another PID namespace where its PID means nothing here), a lock from
// another host, a live PID, an unreadable lock file. That is what
// `nrun force-unlock` is for.
func AcquireLock(ctx context.Context, stateDir, operation string, o LockOptions) (*Lock, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	poll := o.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	start := time.Now()
	told := false
	for {
		l, err := tryLock(stateDir, operation, o.Stale)
		var le *LockedError
		if err == nil || !errors.As(err, &le) {
			return l, err
		}
		waited := time.Since(start)
		if waited >= o.Timeout {
			if o.Timeout > 0 {
				le.Waited = waited.Round(time.Millisecond)
			}
			return nil, le
		}
		if !told && o.Waiting != nil {
			o.Waiting(le)
			told = true
		}
		t := time.NewTimer(min(poll, o.Timeout-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// withGuard runs f holding the guard flock, which serialises the
// processes that take, inspect, rewrite or remove the lock of one state
// directory, so two that both find a stale lock cannot both take it.
func withGuard(path string, f func() error) error {
	guard, err := os.OpenFile(path+".guard", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer guard.Close()
	if err := syscall.Flock(int(guard.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(guard.Fd()), syscall.LOCK_UN)
	return f()
}

func tryLock(stateDir, operation string, stale func(LockInfo)) (*Lock, error) {
	path := filepath.Join(stateDir, LockFile)
	var l *Lock
	err := withGuard(path, func() error {
		info := newLockInfo(operation, path)
		for try := 0; try < 2; try++ {
			f, err := createLocked(path, info, true)
			if err == nil {
				l = &Lock{Info: info, path: path, f: f}
				return nil
			}
			if !errors.Is(err, os.ErrExist) {
				return err
			}
			held, free, err := inspectLock(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			// free holds the old lock's flock until it is removed, so
			// no process can take it in between.
			host, _ := os.Hostname()
			switch {
			case held.Host != host:
				free.Close()
				return &LockedError{Info: held, Why: "Its holder ran on another host, so nrun cannot tell whether it still runs."}
			case held.PID > 0 && processAlive(held.PID):
				free.Close()
				return &LockedError{Info: held, Why: fmt.Sprintf("Nobody holds the lock file's flock, but process %d runs on this host (an older nrun, or the PID was reused), so nrun cannot tell whether the holder is gone.", held.PID)}
			}
			// Nobody holds the flock and the holder's PID is gone on this
			// host: the holder is dead. Record it before removing, so
			// the history never misses a broken lock.
			if err := appendHistory(stateDir, "stale-removed", held); err != nil {
				free.Close()
				return fmt.Errorf("the lock %s is stale but could not be recorded in %s (%v); nothing was removed", held.ID, filepath.Join(stateDir, LockHistoryFile), err)
			}
			if stale != nil {
				stale(held)
			}
			err = os.Remove(path)
			free.Close()
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return fmt.Errorf("could not take the lock %s", path)
	})
	return l, err
}

// inspectLock reads the lock at path. When its flock is held it returns a
// *LockedError; otherwise the open lock file, whose flock the caller now
// holds and must close.
func inspectLock(path string) (LockInfo, *os.File, error) {
	var info LockInfo
	f, err := os.Open(path)
	if err != nil {
		return info, nil, err
	}
	locked := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	data, rerr := io.ReadAll(f)
	if rerr == nil {
		rerr = json.Unmarshal(data, &info)
	}
	if errors.Is(locked, syscall.EWOULDBLOCK) {
		f.Close()
		if rerr != nil {
			info = LockInfo{Path: path, ID: "(unreadable)"}
		}
		return info, nil, &LockedError{Info: info, Held: true}
	}
	if locked != nil {
		f.Close()
		return info, nil, fmt.Errorf("cannot test the flock of %s: %v", path, locked)
	}
	if rerr != nil {
		f.Close()
		return info, nil, fmt.Errorf("the state directory is locked and the lock file %s cannot be read (%v); if no nrun runs, remove it by hand", path, rerr)
	}
	return info, f, nil
}

func newLockInfo(operation, path string) LockInfo {
	host, _ := os.Hostname()
	return LockInfo{ID: newID(), Operation: operation, Who: whoAmI(), Host: host,
		PID: os.Getpid(), Created: time.Now().UTC(), Path: path, Token: newID()}
}

func whoAmI() string {
	host, _ := os.Hostname()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	return who + "@" + host
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// createLocked writes info to a temporary file, takes its flock, and puts
// it at path: linked when exclusive (fails with os.ErrExist if path
// exists), else renamed over it. The lock file therefore never exists
// half written nor without its flock held. It returns the file, whose
// flock is held until it is closed.
func createLocked(path string, info LockInfo, exclusive bool) (*os.File, error) {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lock-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	fail := func(err error) (*os.File, error) {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := syscall.Flock(int(tmp.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fail(err)
	}
	if exclusive {
		err = os.Link(tmp.Name(), path)
	} else {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fail(err)
	}
	syncDir(filepath.Dir(path))
	return tmp, nil
}

// ReadLock returns the lock info of stateDir; os.ErrNotExist when unlocked.
func ReadLock(stateDir string) (LockInfo, error) {
	var info LockInfo
	data, err := os.ReadFile(filepath.Join(stateDir, LockFile))
	if err != nil {
		return info, err
	}
	err = json.Unmarshal(data, &info)
	return info, err
}

// LockHeld reports whether a process holds the flock of stateDir's lock
// file: its holder is alive. False when there is no lock file.
func LockHeld(stateDir string) bool {
	f, err := os.Open(filepath.Join(stateDir, LockFile))
	if err != nil {
		return false
	}
	defer f.Close()
	return errors.Is(syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB), syscall.EWOULDBLOCK)
}

// Verify checks that the lock file still holds this lock's token. It
// fails with a *LockLostError once someone forced the lock (nrun
// force-unlock, or a hand removal): the holder must then start no new
// work, since another nrun may already run on the same state directory.
func (l *Lock) Verify() error {
	if l == nil {
		return nil
	}
	stateDir := filepath.Dir(l.path)
	held, err := ReadLock(stateDir)
	if err == nil && held.ID == l.Info.ID && held.Token == l.Info.Token {
		return nil
	}
	lost := &LockLostError{Info: l.Info}
	if err == nil {
		lost.Now = &held
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot read the state lock %s to check it is still this run's (%v); starting nothing new", l.path, err)
	}
	lost.Forced = lastHistory(stateDir, l.Info.ID)
	return lost
}

// SetRun records the run ID in the held lock.
func (l *Lock) SetRun(runID string) error {
	return withGuard(l.path, func() error {
		if err := l.Verify(); err != nil {
			return err
		}
		info := l.Info
		info.RunID = runID
		// A new file renamed over the old one: a reader never sees it
		// half written. Its flock is taken before the rename and the old
		// one dropped after, so the file at path is always flocked.
		f, err := createLocked(l.path, info, false)
		if err != nil {
			return err
		}
		l.f.Close()
		l.f, l.Info = f, info
		return nil
	})
}

// Release removes the lock if it is still ours and drops its flock.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	err := withGuard(l.path, func() error {
		if l.Verify() != nil {
			return nil // forced meanwhile; not ours to remove
		}
		return os.Remove(l.path)
	})
	if l.f != nil {
		l.f.Close()
	}
	return err
}

// ForceUnlock removes the lock of stateDir if its ID is id, after
// recording in the lock history who forced it. The holder, if it still
// runs, notices at its next Verify and starts nothing new.
func ForceUnlock(stateDir, id string) (LockInfo, error) {
	path := filepath.Join(stateDir, LockFile)
	var held LockInfo
	err := withGuard(path, func() error {
		var err error
		held, err = ReadLock(stateDir)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("the state directory %s is not locked", stateDir)
		}
		if err != nil {
			return err
		}
		if held.ID != id {
			return fmt.Errorf("the lock ID is %s, not %s; nothing was removed", held.ID, id)
		}
		if err := appendHistory(stateDir, "force-unlock", held); err != nil {
			return fmt.Errorf("cannot record who forced the lock in %s (%v); nothing was removed", filepath.Join(stateDir, LockHistoryFile), err)
		}
		return os.Remove(path)
	})
	return held, err
}

func appendHistory(stateDir, event string, held LockInfo) error {
	held.Token = "" // the token proves ownership; it has no place in a log
	b, err := json.Marshal(LockEvent{Time: time.Now().UTC(), Event: event, By: whoAmI(), PID: os.Getpid(), Lock: held})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(stateDir, LockHistoryFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadLockHistory returns the lock history of stateDir, oldest first.
func ReadLockHistory(stateDir string) ([]LockEvent, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, LockHistoryFile))
	if err != nil {
		return nil, err
	}
	var evs []LockEvent
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var e LockEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return evs, fmt.Errorf("%s: %v", LockHistoryFile, err)
		}
		evs = append(evs, e)
	}
	return evs, nil
}

func lastHistory(stateDir, id string) *LockEvent {
	evs, _ := ReadLockHistory(stateDir)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Lock.ID == id {
			return &evs[i]
		}
	}
	return nil
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
