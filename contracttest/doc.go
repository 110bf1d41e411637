// Package contracttest proves the API contract that futuresgen derives
// from views with tools that futures did not write, in a module of its own
// so that they never enter futures' go.mod:
//
//   - github.com/pb33f/libopenapi and libopenapi-validator check that the
//     OpenAPI documents futuresgen writes (golden cases, the end-to-end
//     views package, package notes here) are valid OpenAPI, and that every
//     request and response of an end-to-end run of real views agrees with
//     its document: a request the server accepts validates, one it refuses
//     for its values does not, and every response validates;
//   - github.com/oapi-codegen/oapi-codegen generates a client from the
//     OpenAPI 3.0 document of package notes (notes/client), which compiles
//     and calls the notes server.
//
// go test ./... here needs only Go; .ci/run runs it with the other modules.
package contracttest
