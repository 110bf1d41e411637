package contracttest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
)

// newValidator loads an OpenAPI document with libopenapi, validates it
// against the OpenAPI specification's schema, and returns a validator of
// requests and responses against it that asserts formats (email, uuid,
// date-time, uri) too.
func newValidator(t *testing.T, name string, doc []byte) validator.Validator {
	t.Helper()
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatalf("%s: libopenapi cannot read it: %v", name, err)
	}
	v, errs := validator.NewValidator(d, config.WithFormatAssertions())
	if len(errs) > 0 {
		t.Fatalf("%s: libopenapi-validator cannot build a validator: %v", name, errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("%s is not a valid OpenAPI document:\n%s", name, describe(verrs))
	}
	return v
}

// describe lists validation errors, with their schema errors.
func describe(errs []*vErrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s (%s/%s)\n", e.Message, e.Reason, e.ValidationType, e.ValidationSubType)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "      %s at %s (%s)\n", se.Reason, se.FieldPath, se.KeywordLocation)
		}
	}
	return b.String()
}

// TestDocumentsValidate checks futuresgen's golden documents, in both of
// their forms (3.1 and 3.0), against the OpenAPI specification.
func TestDocumentsValidate(t *testing.T) {
	for _, path := range []string{
		"../internal/gen/testdata/ok/api/openapi.json.golden",
		"../internal/gen/testdata/ok/api30/notes.json.golden",
		"notes/openapi.json",
		"../examples/signup/openapi.json",
	} {
		t.Run(path, func(t *testing.T) {
			doc, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			newValidator(t, path, doc)
		})
	}
}

// request rebuilds a recorded request for the validator.
func (x *exchange) request() *http.Request {
	r, err := http.NewRequest(x.Method, x.URL, bytes.NewReader(x.RequestBody))
	if err != nil {
		panic(err)
	}
	r.Header = x.RequestHeader.Clone()
	return r
}

// response rebuilds a recorded response for the validator.
func (x *exchange) response(r *http.Request) *http.Response {
	return &http.Response{
		StatusCode: x.Status, Header: x.ResponseHeader.Clone(), Request: r,
		Body: io.NopCloser(bytes.NewReader(x.ResponseBody)), ContentLength: int64(len(x.ResponseBody)),
	}
}

// exchange is one request and its response, as viewcheck records them.
type exchange struct {
	Method         string      `json:"method"`
	URL            string      `json:"url"`
	RequestHeader  http.Header `json:"request_header"`
	RequestBody    []byte      `json:"request_body"`
	Status         int         `json:"status"`
	ResponseHeader http.Header `json:"response_header"`
	ResponseBody   []byte      `json:"response_body"`
}
