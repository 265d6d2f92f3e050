package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// heartbeatEvery is the longest the demo stays silent while it waits: after that much
// time without output it says what it is waiting for, so a wait never looks like a hang.
const heartbeatEvery = 5 * time.Second

// progress is the demo's output: a writer that remembers when it last wrote, so that
// wait can fill silences with a heartbeat. Commands whose output is streamed (terraform,
// the Go build) write through it too.
type progress struct {
	mu        sync.Mutex
	w         io.Writer
	last      time.Time
	lineStart bool // the last byte written ended a line (a heartbeat never splits one)
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, last: time.Now(), lineStart: true}
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(b) > 0 {
		p.last = time.Now()
		p.lineStart = b[len(b)-1] == '\n'
	}
	return p.w.Write(b)
}

func (p *progress) printf(format string, args ...any) {
	fmt.Fprintf(p, format+"\n", args...)
}

// step prints the heading of one stage of the demo.
func (p *progress) step(format string, args ...any) {
	p.printf("\n==> "+format, args...)
}

// wait runs fn; whenever nothing was written for heartbeatEvery it prints
// "... <what> (<elapsed>)". what is asked again each time, so it can report the
// current state of the wait.
func (p *progress) wait(what func() string, fn func() error) error {
	began := time.Now()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.mu.Lock()
				quiet := time.Since(p.last) >= heartbeatEvery && p.lineStart
				p.mu.Unlock()
				if quiet {
					p.printf("    ... %s (%s)", what(), time.Since(began).Round(time.Second))
				}
			}
		}
	}()
	err := fn()
	close(done)
	<-stopped
	return err
}

// waitFor is wait with a fixed description.
func (p *progress) waitFor(what string, fn func() error) error {
	return p.wait(func() string { return what }, fn)
}

// logFollower copies the lines a file gains to a writer, with a prefix: how `up` shows
// the supervisor's progress while it waits for the sandbox.
type logFollower struct {
	path   string
	prefix string
	w      io.Writer
	offset int64
	rest   string
}

// poll writes the complete lines added since the last poll.
func (f *logFollower) poll() {
	if f == nil || f.w == nil {
		return
	}
	file, err := os.Open(f.path)
	if err != nil {
		return
	}
	defer file.Close()
	if _, err := file.Seek(f.offset, io.SeekStart); err != nil {
		return
	}
	b, err := io.ReadAll(file)
	if err != nil || len(b) == 0 {
		return
	}
	f.offset += int64(len(b))
	text := f.rest + string(b)
	i := strings.LastIndexByte(text, '\n')
	if i < 0 {
		f.rest = text
		return
	}
	f.rest = text[i+1:]
	for _, line := range strings.Split(text[:i], "\n") {
		fmt.Fprintf(f.w, "%s%s\n", f.prefix, line)
	}
}
