//go:build !linux

package testbed

import "os/exec"

// startChild starts a long-running test bed process. Only Linux can end
// a child with its parent; elsewhere a killed test may leave it running.
func startChild(cmd *exec.Cmd) error { return cmd.Start() }
