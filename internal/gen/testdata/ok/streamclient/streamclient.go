// Package streamclient is the typed client of package streams: its
// event-stream views get methods that return sequences, its sockets
// methods that dial them.
//
//futures:client example.com/golden/streams
package streamclient
