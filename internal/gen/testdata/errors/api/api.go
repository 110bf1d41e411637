// Package api has every mistake a //futures:api directive can have.
//
//futures:api title="A" out=api/doc.json openapi=2.0 servers=ftp://x,https://ok.example.com,/a?b=c colour=red description=""
//futures:api version=2
//futures:view GET /nowhere
//futures:apii version=1
package api

//futures:api version=1
func NotAPackage() {}

//futures:view GET /a errors=200,404,404
func BadErrors() error { return nil }

//futures:view GET /b errors=404,404
func BadErrors2() error { return nil }
