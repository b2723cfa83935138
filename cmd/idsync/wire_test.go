package main

import (
	"fmt"
	"testing"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/config"
)

// TestMaxRetriesSetsTheClientAttempts checks that apply.max_retries counts
// retries after the first attempt of the one retry layer: 0 means each
// call is made once.
func TestMaxRetriesSetsTheClientAttempts(t *testing.T) {
	for _, n := range []int{0, 1, 5, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			cfg := config.Default()
			cfg.Apply.MaxRetries = n
			if got := clientOptions(cfg, zap.NewNop()).Retry.MaxAttempts; got != n+1 {
				t.Errorf("max_retries %d: client attempts %d, want %d", n, got, n+1)
			}
		})
	}
}

func TestLibrariesNameTheirOwnLoggers(t *testing.T) {
	// idhub names its logger; the wiring hands it the root logger so that
	// the name does not appear twice.
	log := zap.NewNop()
	cfg := &config.Config{}
	if clientOptions(cfg, log).Logger != log {
		t.Error("the Identity Hub client's logger is named by the wiring too")
	}
}
