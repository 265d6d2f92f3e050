package sandbox

import (
	"errors"
	"os/exec"
	"runtime"
	"syscall"
)

// spawner starts every child process of a sandbox from one goroutine locked to its OS thread.
//
// Children get Pdeathsig=SIGKILL so they die with us even if we are SIGKILLed or panic, but
// the kernel delivers Pdeathsig when the *thread* that forked the child exits, not the
// process. Go retires idle threads, so a child started from an ordinary goroutine can be
// killed at a random moment. Forking only from this locked goroutine ties the children to a
// thread that lives exactly as long as the sandbox; when close returns from the goroutine
// without unlocking, the runtime ends the thread and any child still alive gets SIGKILL.
type spawner struct {
	reqs chan spawnRequest
	done chan struct{}
}

type spawnRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

var errSpawnerClosed = errors.New("sandbox is stopping: no new processes")

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnRequest), done: make(chan struct{})}
	started := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		// Deliberately no UnlockOSThread: returning while locked makes the runtime exit the
		// thread, which is what triggers Pdeathsig for anything left behind.
		close(started)
		for {
			select {
			case req := <-s.reqs:
				req.reply <- req.cmd.Start()
			case <-s.done:
				return
			}
		}
	}()
	<-started
	return s
}

// start starts cmd in its own process group with Pdeathsig set, from the locked thread.
func (s *spawner) start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Own process group: stop signals the whole group, grandchildren included, and a
	// Ctrl-C in the terminal reaches only our process, which then stops children in order.
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	req := spawnRequest{cmd: cmd, reply: make(chan error, 1)}
	select {
	case s.reqs <- req:
		return <-req.reply
	case <-s.done:
		return errSpawnerClosed
	}
}

// close ends the spawning thread. Call it after every child has been stopped; any child that
// somehow survived is SIGKILLed by the kernel.
func (s *spawner) close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
}
