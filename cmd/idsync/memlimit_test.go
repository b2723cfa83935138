package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(math.MaxInt64)
	if got := setMemoryLimit(); got != softMemoryLimit || debug.SetMemoryLimit(-1) != softMemoryLimit {
		t.Fatalf("without GOMEMLIMIT the limit is %d (reported %d), want %d", debug.SetMemoryLimit(-1), got, softMemoryLimit)
	}

	// GOMEMLIMIT is read by the runtime at start; idsync leaves its value.
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	if got := setMemoryLimit(); got != 1<<30 || debug.SetMemoryLimit(-1) != 1<<30 {
		t.Fatalf("with GOMEMLIMIT the limit is %d (reported %d), want 1 GiB", debug.SetMemoryLimit(-1), got)
	}
}
