package testbed

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// startChild starts a long-running test bed process (a server, the
// database) so that it ends with the test process, however that one ends:
// no server is left behind by a test binary that was killed.
//
// Linux's parent-death signal fires when the *thread* that started the
// child ends, and the Go runtime ends threads of its own accord, so every
// child is started from one goroutine locked to its thread for the life
// of the process.
func startChild(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	starter.once.Do(func() {
		starter.requests = make(chan startRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range starter.requests {
				r.result <- r.cmd.Start()
			}
		}()
	})
	result := make(chan error, 1)
	starter.requests <- startRequest{cmd, result}
	return <-result
}

type startRequest struct {
	cmd    *exec.Cmd
	result chan error
}

var starter struct {
	once     sync.Once
	requests chan startRequest
}
