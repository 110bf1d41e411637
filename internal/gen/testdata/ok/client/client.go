// Package client is the typed client of package views: every view that a
// client can call gets a method, the others (a view of the raw request)
// a warning.
//
//futures:client example.com/golden/views
package client
