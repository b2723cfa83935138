//go:build unix

package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A runtime fault nothing can recover (here SIGQUIT, which takes the same
// path as an unrecovered panic in any goroutine) must not end idsync with
// exit status 2, the configuration-error status: it dies by SIGABRT.
func TestDaemonCrashIsNotAConfigError(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), binPath, "run", "--config", writeOfflineConfig(t))
	cmd.Env = append(os.Environ(), "IDSYNC_LDAP_PASSWORD=x", "GOTRACEBACK=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "idsync started") {
				close(started)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the daemon did not start")
	}
	if err := cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("wait: %v, want the process to have crashed", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if ws.Exited() && ws.ExitStatus() == exitUsage {
		t.Fatalf("a crash exited with status %d, the configuration-error status", exitUsage)
	}
	if !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Errorf("wait status %v, want killed by SIGABRT", ws)
	}
}
