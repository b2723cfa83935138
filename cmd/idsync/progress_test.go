package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// clock is a settable time for progress.
type clock struct{ t time.Time }

func newClock() *clock                   { return &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)} }
func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// In a pipe, progress writes one line per phase and nothing else.
func TestProgressPipeOneLinePerPhase(t *testing.T) {
	var buf bytes.Buffer
	clk := newClock()
	p := &progress{w: &buf, now: clk.now}
	p.read(1000, 1)
	clk.advance(time.Second)
	p.read(2000, 2)
	clk.advance(time.Second)
	p.read(2017, 3)
	p.apply(0, 0) // nothing to apply yet: no phase change
	p.apply(0, 40)
	clk.advance(2 * time.Second)
	p.apply(20, 40)
	clk.advance(2 * time.Second)
	p.apply(40, 40)
	p.finish()
	p.apply(40, 40) // after finish: ignored
	want := "read 2017 directory objects in 3 pages in 2s\napplied 40/40 changes in 4s (10/s)\n"
	if buf.String() != want {
		t.Errorf("pipe output:\n%q\nwant\n%q", buf.String(), want)
	}
}

// A cycle with nothing to apply still ends its read phase.
func TestProgressPipeReadOnly(t *testing.T) {
	var buf bytes.Buffer
	clk := newClock()
	p := &progress{w: &buf, now: clk.now}
	p.read(5, 1)
	clk.advance(300 * time.Millisecond)
	p.finish()
	if got := buf.String(); got != "read 5 directory objects in 1 pages in 300ms\n" {
		t.Errorf("pipe output %q", got)
	}
}

// On a terminal, progress redraws one line: objects and pages while
// reading, done/total with rate and time left while applying.
func TestProgressTerminal(t *testing.T) {
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	t.Cleanup(func() { isTerminal = old })
	var buf bytes.Buffer
	clk := newClock()
	p := newProgress(&buf)
	p.now = clk.now
	p.read(1000, 1)
	clk.advance(time.Second)
	p.apply(0, 100)
	clk.advance(time.Second)
	p.apply(50, 100)
	p.finish()
	got := buf.String()
	for _, want := range []string{
		"\rreading the directory: 1000 objects, 1 pages\x1b[K",
		"\rread 1000 directory objects in 1 pages in 1s\x1b[K\n",
		"\r[------------------------------] 0/100 changes\x1b[K",
		"\r[###############---------------] 50/100 changes, 50/s, 1s left\x1b[K",
		"\rapplied 50/100 changes in 1s (50/s)\x1b[K\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, got)
		}
	}
}
