// Package client is the typed client of package views that futuresgen
// generates: cmd/clientcheck calls every view with it through a real
// server on loopback.
//
//futures:client example.com/e2e/views
package client
