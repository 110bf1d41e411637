//go:build !plan9

package server

import (
	"errors"
	"syscall"
)

// familyUnavailable reports whether err, from listening on a loopback
// address, says that the host has no such address family (no IPv6).
func familyUnavailable(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)
}
