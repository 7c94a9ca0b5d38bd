package executor

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is the lock's name inside a state directory.
const LockFile = "nrun.lock"

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
}

func (l LockInfo) String() string {
	return fmt.Sprintf("  ID:        %s\n  Path:      %s\n  Operation: %s\n  Who:       %s\n  Host:      %s\n  PID:       %d\n  Created:   %s\n",
		l.ID, l.Path, l.Operation, l.Who, l.Host, l.PID, l.Created.Format(time.RFC3339))
}

// LockedError is returned when another process holds the lock.
type LockedError struct {
	Info LockInfo
	// Stale is set when the holder ran on this host and is gone; the lock
	// was still not taken over because its process could not be checked
	// safely (see Lock).
	Stale bool
}

func (e *LockedError) Error() string {
	s := "the state directory is locked by another nrun:\n" + e.Info.String()
	return s + "\nWait for it to finish. If it is certainly gone, remove the lock with:\n  nrun force-unlock " + e.Info.ID
}

// Lock is a held state-directory lock.
type Lock struct {
	Info LockInfo
	path string
}

// AcquireLock takes the lock of stateDir for operation, or fails at once
// with a *LockedError naming the holder. A lock left behind by a process
// that ran on this host and no longer exists is replaced (and reported
// through stale) because a crashed apply must be resumable without a manual
// step; a lock from another host, or whose process is alive, is never
// broken here: that is what `nrun force-unlock` is for.
func AcquireLock(stateDir, operation string, stale func(LockInfo)) (*Lock, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(stateDir, LockFile)
	// The guard serialises acquirers, so two processes that both find a
	// stale lock cannot both take it.
	guard, err := os.OpenFile(path+".guard", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	defer guard.Close()
	if err := syscall.Flock(int(guard.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	defer syscall.Flock(int(guard.Fd()), syscall.LOCK_UN)

	info := newLockInfo(operation, path)
	for try := 0; try < 2; try++ {
		err := writeExclusive(path, info)
		if err == nil {
			return &Lock{Info: info, path: path}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		held, rerr := ReadLock(stateDir)
		if rerr != nil {
			return nil, fmt.Errorf("the state directory is locked and the lock file %s cannot be read (%v); remove it by hand if no nrun runs", path, rerr)
		}
		host, _ := os.Hostname()
		if held.Host == host && held.PID > 0 && !processAlive(held.PID) {
			if stale != nil {
				stale(held)
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			continue
		}
		return nil, &LockedError{Info: held}
	}
	return nil, fmt.Errorf("could not take the lock %s", path)
}

func newLockInfo(operation, path string) LockInfo {
	host, _ := os.Hostname()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	return LockInfo{ID: newID(), Operation: operation, Who: who + "@" + host, Host: host,
		PID: os.Getpid(), Created: time.Now().UTC(), Path: path}
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func writeExclusive(path string, info LockInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	// Write a complete file first and link it into place: the lock file
	// never exists half written.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lock-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	tmp.Close()
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
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

// SetRun records the run ID in the held lock.
func (l *Lock) SetRun(runID string) error {
	l.Info.RunID = runID
	data, err := json.MarshalIndent(l.Info, "", "  ")
	if err != nil {
		return err
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, l.path)
}

// Release removes the lock if it is still ours.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	held, err := ReadLock(filepath.Dir(l.path))
	if err != nil || held.ID != l.Info.ID {
		return nil // force-unlocked meanwhile; not ours to remove
	}
	return os.Remove(l.path)
}

// ForceUnlock removes the lock of stateDir if its ID is id.
func ForceUnlock(stateDir, id string) (LockInfo, error) {
	held, err := ReadLock(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return held, fmt.Errorf("the state directory %s is not locked", stateDir)
	}
	if err != nil {
		return held, err
	}
	if held.ID != id {
		return held, fmt.Errorf("the lock ID is %s, not %s; nothing was removed", held.ID, id)
	}
	return held, os.Remove(filepath.Join(stateDir, LockFile))
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
