// Package emulatortest runs the Identity Hub emulator on loopback for tests
// and benchmarks, and connects idsync's client to it.
package emulatortest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/idhub"
)

// Start runs an emulator with opts on a free port of 127.0.0.1 until the
// test ends and returns it with its address. An error from the server fails
// the test.
func Start(tb testing.TB, opts emulator.Options) (*emulator.Emulator, string) {
	tb.Helper()
	emu, err := emulator.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(tb.Context()))
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, lis) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("emulator: %v", err)
		}
	})
	return emu, lis.Addr().String()
}

// Client returns an idhub client for the emulator at addr, authenticated
// with a static token, polling operations quickly; it is closed when the
// test ends. mod, when set, adjusts the options first.
func Client(tb testing.TB, addr, userpoolID, token string, mod func(*idhub.Options)) *idhub.Client {
	tb.Helper()
	opts := idhub.Options{UserpoolID: userpoolID, OrganizationManagerEndpoint: addr, OperationEndpoint: addr,
		IAMEndpoint: addr, Plaintext: true, StaticToken: token, PollInitial: time.Millisecond, PollMax: 10 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	c, err := idhub.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}
