package main

import (
	"os"
	"os/exec"
	"syscall"
)

// ownProcessGroup starts cmd in a process group of its own, out of reach
// of the console's ctrl+c.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// askToStop: Windows has no SIGTERM; the closed lifeline is the request.
func askToStop(*os.Process) {}

// killGroup ends the helper (its children end with their lifelines).
func killGroup(p *os.Process) { p.Kill() }
