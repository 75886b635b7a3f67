//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// ownProcessGroup starts cmd in a process group of its own, out of reach
// of the terminal's ctrl+c.
func ownProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// askToStop asks the helper to stop (besides closing its lifeline).
func askToStop(p *os.Process) { p.Signal(syscall.SIGTERM) }

// killGroup ends the helper and everything it started.
func killGroup(p *os.Process) { syscall.Kill(-p.Pid, syscall.SIGKILL) }
