package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEmulatorCommand(t *testing.T) {
	dir := t.TempDir()
	keyPath, statePath := filepath.Join(dir, "key.json"), filepath.Join(dir, "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cmdEmulator(ctx, []string{
			"--listen", "127.0.0.1:0", "--static-token", "very-secret-token", "--write-key", keyPath,
			"--state", statePath, "--min-interval", "0",
		}, &stdout, &stderr)
	}()
	listening := regexp.MustCompile(`listening on 127\.0\.0\.1:(\d+)`)
	deadline := time.Now().Add(30 * time.Second)
	for !listening.MatchString(stdout.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no listening line; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("emulator exited early: %v; stderr %q", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if m := listening.FindStringSubmatch(stdout.String()); m[1] == "0" {
		t.Errorf("printed port 0 instead of the real port: %q", stdout.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("emulator returned %v on cancel", err)
	}
	if strings.Contains(stdout.String()+stderr.String(), "very-secret-token") {
		t.Error("the static token was printed")
	}
	b, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	var key struct {
		ID         string `json:"id"`
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(b, &key); err != nil || key.ID == "" || !strings.Contains(key.PrivateKey, "BEGIN PRIVATE KEY") {
		t.Fatalf("key file: %v %+v", err, key)
	}

	var out bytes.Buffer
	if err := cmdEmulator(context.Background(), []string{"dump", "--state", statePath}, &out, &stderr); err != nil {
		t.Fatalf("dump: %v", err)
	}
	var d struct {
		UserpoolID string   `json:"userpool_id"`
		Keys       []string `json:"service_account_keys"`
	}
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		t.Fatalf("dump output: %v\n%s", err, out.String())
	}
	if d.UserpoolID != emulatorDefaultPool || len(d.Keys) != 1 || d.Keys[0] != key.ID {
		t.Errorf("dump: %+v", d)
	}
	out.Reset()
	if err := cmdEmulator(context.Background(), []string{"dump", "--state", statePath, "--summary"}, &out, &stderr); err != nil {
		t.Fatalf("dump --summary: %v", err)
	}
	if !strings.Contains(out.String(), "user pool "+emulatorDefaultPool) || !strings.Contains(out.String(), "users     0") {
		t.Errorf("dump --summary:\n%s", out.String())
	}
}

func TestEmulatorCommandUsage(t *testing.T) {
	tests := [][]string{
		{"--min-interval", "-1s"},
		{"--error-rate", "2"},
		{"dump"},
		{"dump", "--state", "a", "--from", "http://b"},
		{"--bogus"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			err := cmdEmulator(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
			if code := exitCode(err); code != exitUsage {
				t.Errorf("exit code %d (%v), want %d", code, err, exitUsage)
			}
		})
	}
}

// cmdEmulator runs `idsync emulator args...` and returns its error.
func cmdEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, err := execute(ctx, append([]string{"emulator"}, args...), stdout, stderr)
	return err
}
