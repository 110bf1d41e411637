// A second file's package doc comment with a second //futures:api.
//
//futures:api version=3
package api
