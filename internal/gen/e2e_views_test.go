package gen_test

import (
	"strings"
	"testing"
)

// TestEndToEndViews generates the handlers of testdata/e2e/views in a
// temporary module, builds and vets the module, and runs
// testdata/e2e/views/cmd/viewcheck, which serves the views with
// runtime/server on loopback and checks them as an HTTP client: every
// binding kind, 400 problems listing every bad field, JSON bodies strict
// and not, 413, the success statuses, view.Error, errors whose text must
// not reach the client, 504, panic recovery, future results, templates or
// JSON by Accept, method views, validate tags on every kind of parameter
// and in a body (a type that contains itself too), the OpenAPI document
// that view.ServeOpenAPI serves, and an after-response task that runs
// after the client has its response and that the server's shutdown
// drains. With $VIEWCHECK_RECORD set, viewcheck writes every exchange to
// that file, for the contract test (contracttest/).
func TestEndToEndViews(t *testing.T) {
	if out := e2eGenerateAndRun(t, "views", "viewcheck"); strings.TrimSpace(out) != "ok" {
		t.Errorf("viewcheck printed %q; want \"ok\"", out)
	}
}

// TestEndToEndClient generates the handlers of testdata/e2e/views and the
// typed client of its package client in a temporary module, builds and
// vets them, and runs testdata/e2e/views/cmd/clientcheck, which serves
// the views with runtime/server on loopback and calls every one through
// the generated client: every binding kind, every validation rule, every
// error path (the problems 400, 403, 404, 409, 413, 422, 500, 503 with
// its retries, 504; values that cannot be sent, refused before sending),
// future and template views, headers from the client, the call and the
// request, a base URL with a path, and a round trip of random values of
// every kind through every place a view binds from: each comes back as it
// was sent, or is refused before sending when HTTP cannot carry it. With
// $CLIENTCHECK_RECORD set, clientcheck writes every exchange to that file,
// for the contract test (contracttest/).
func TestEndToEndClient(t *testing.T) {
	if out := e2eGenerateAndRun(t, "views", "clientcheck"); strings.TrimSpace(out) != "ok" {
		t.Errorf("clientcheck printed %q; want \"ok\"", out)
	}
}
