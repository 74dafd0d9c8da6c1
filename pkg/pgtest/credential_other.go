//go:build !unix

package pgtest

import "os/exec"

// setCredential is a no-op where there is no root to step down from.
func setCredential(*exec.Cmd, uint32, uint32) {}
