// Package client is the client that oapi-codegen generates from the
// OpenAPI 3.0 document of package notes, which futuresgen writes: proof
// that a third-party generator reads the document and that its client
// talks to the views (see client_test.go).
package client

//go:generate go tool oapi-codegen -config config.yaml ../openapi.json
