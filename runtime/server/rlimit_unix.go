//go:build unix

package server

import "syscall"

// openFileLimit returns the process's open-file limit (the soft limit,
// which Go raises to the hard one at startup), at most 1<<20.
func openFileLimit() (int, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	// RLIM_INFINITY, or an int64 -1 on some systems, is huge as a uint64.
	return int(min(uint64(rl.Cur), 1<<20)), true
}
