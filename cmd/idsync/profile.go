package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// profileEnv names a directory into which idsync writes a CPU profile of
// the whole run (cpu-PID.pprof) and a heap profile taken when the live heap
// was at its largest (heap-PID.pprof), for `go tool pprof`. Unset: no
// profiling, no cost.
const profileEnv = "IDSYNC_PROFILE_DIR"

// startProfiles starts profiling when IDSYNC_PROFILE_DIR is set and returns
// the function that stops it and writes the profiles.
func startProfiles() (stop func(), err error) {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	pid := os.Getpid()
	cpu, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", pid)))
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		cpu.Close()
		return nil, fmt.Errorf("profile: %w", err)
	}
	heapPath := filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", pid))
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		watchHeapPeak(heapPath, done)
	}()
	return func() {
		close(done)
		<-finished
		pprof.StopCPUProfile()
		cpu.Close()
	}, nil
}

// watchHeapPeak writes a heap profile to path each time the live heap
// grows 10% past the largest size seen (and once at the start), until
// done is closed.
func watchHeapPeak(path string, done <-chan struct{}) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		metrics.Read(sample)
		if live := sample[0].Value.Uint64(); peak == 0 || live >= peak+peak/10 {
			peak = max(live, 1)
			f, err := os.Create(path)
			if err != nil {
				return
			}
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}
