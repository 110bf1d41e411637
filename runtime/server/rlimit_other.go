//go:build !unix

package server

// openFileLimit reports no limit where there is no RLIMIT_NOFILE: the
// connection cap then has a fixed default.
func openFileLimit() (int, bool) { return 0, false }
