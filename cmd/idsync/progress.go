package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// progressSink hears how a cycle advances: the directory pages read and
// the changes applied. Both may be called from several goroutines.
type progressSink interface {
	read(objects, pages int64)
	apply(done, total int64)
}

// isTerminal reports whether w is a terminal; tests replace it.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// progress shows a cycle's phases. On a terminal it redraws one line:
// objects and pages while reading the directory, then a bar with done/total,
// rate and time left while applying; each phase ends with its summary
// line. In a pipe or file it writes only the summary line of each phase.
type progress struct {
	w   io.Writer
	tty bool
	now func() time.Time

	mu             sync.Mutex
	phase          string // "", "read", "apply", "done"
	start          time.Time
	objects, pages int64
	done, total    int64
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w), now: time.Now}
}

func (p *progress) read(objects, pages int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase != "" && p.phase != "read" {
		return // a read after the apply started (a password hash look-up)
	}
	if p.phase == "" {
		p.phase, p.start = "read", p.now()
	}
	p.objects, p.pages = max(p.objects, objects), max(p.pages, pages)
	if p.tty {
		p.draw(fmt.Sprintf("reading the directory: %d objects, %d pages", p.objects, p.pages))
	}
}

func (p *progress) apply(done, total int64) {
	if total == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.phase {
	case "done":
		return
	case "", "read":
		p.endRead()
		p.phase, p.start = "apply", p.now()
	}
	p.done, p.total = done, total
	if !p.tty {
		return
	}
	const width = 30
	filled := int(done * width / total)
	bar := strings.Repeat("#", filled) + strings.Repeat("-", width-filled)
	line := fmt.Sprintf("[%s] %d/%d changes", bar, done, total)
	if el := p.now().Sub(p.start); done > 0 && el > 0 {
		rate := float64(done) / el.Seconds()
		left := time.Duration(float64(total-done) / rate * float64(time.Second))
		line += fmt.Sprintf(", %.0f/s, %s left", rate, left.Round(time.Second))
	}
	p.draw(line)
}

// finish ends the phase under way with its summary line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.phase {
	case "read":
		p.endRead()
	case "apply":
		el := p.now().Sub(p.start)
		line := fmt.Sprintf("applied %d/%d changes in %s", p.done, p.total, el.Round(time.Millisecond))
		if el > 0 {
			line += fmt.Sprintf(" (%.0f/s)", float64(p.done)/el.Seconds())
		}
		p.summary(line)
	}
	p.phase = "done"
}

func (p *progress) endRead() {
	if p.phase != "read" {
		return
	}
	p.summary(fmt.Sprintf("read %d directory objects in %d pages in %s", p.objects, p.pages, p.now().Sub(p.start).Round(time.Millisecond)))
}

// draw replaces the terminal's current line.
func (p *progress) draw(line string) {
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
}

// summary writes a phase's last line: over the drawn one on a terminal.
func (p *progress) summary(line string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", line)
		return
	}
	fmt.Fprintln(p.w, line)
}
