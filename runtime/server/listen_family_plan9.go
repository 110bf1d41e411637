package server

import (
	"errors"
	"syscall"
)

// familyUnavailable reports whether err, from listening on a loopback
// address, says that the host has no such address family (no IPv6).
// Plan 9 has no EADDRNOTAVAIL.
func familyUnavailable(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT)
}
