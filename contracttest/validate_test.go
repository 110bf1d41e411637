package contracttest

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
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

// The validator's own limits with integers, which are not disagreements
// between our documents and our code: it parses an integer parameter as
// an int64, so that a uint64 value above 2^63-1 is "not a valid integer";
// and it decodes JSON numbers as float64, so that an int64 near its ends
// (such as 9223372036854775807) rounds to 9.223372036854776e+18, which is
// "not valid int64". JSON Schema's integers have no bound, and our
// document says so for uint64 (minimum 0, no maximum) and int64 (format
// int64).
var (
	paramIntLimit = regexp.MustCompile(`however the value '(\d{19,20})' is not a valid integer`)
	bodyIntLimit  = regexp.MustCompile(`^-?9\.22337203685477[0-9]*e\+18 is not valid int64`)
)

// withoutValidatorLimits removes from errs what the validator's integer
// limits cause, and reports how many it removed.
func withoutValidatorLimits(errs []*vErrors.ValidationError) ([]*vErrors.ValidationError, int) {
	var out []*vErrors.ValidationError
	removed := 0
	for _, e := range errs {
		if m := paramIntLimit.FindStringSubmatch(e.Reason); m != nil {
			if u, err := strconv.ParseUint(m[1], 10, 64); err == nil && u > math.MaxInt64 {
				removed++
				continue
			}
		}
		if len(e.SchemaValidationErrors) > 0 {
			// The other branches of an anyOf whose branch failed only for
			// the limit (a nullable $ref: "want null") go with it.
			var anyOf []string
			for _, se := range e.SchemaValidationErrors {
				if bodyIntLimit.MatchString(se.Reason) {
					if i := strings.Index(se.KeywordLocation, "/anyOf/"); i >= 0 {
						anyOf = append(anyOf, se.KeywordLocation[:i+len("/anyOf/")])
					}
				}
			}
			var kept []*vErrors.SchemaValidationFailure
			for _, se := range e.SchemaValidationErrors {
				if bodyIntLimit.MatchString(se.Reason) || slices.ContainsFunc(anyOf, func(p string) bool { return strings.HasPrefix(se.KeywordLocation, p) }) {
					removed++
					continue
				}
				kept = append(kept, se)
			}
			if len(kept) == 0 {
				continue
			}
			c := *e
			c.SchemaValidationErrors = kept
			e = &c
		}
		out = append(out, e)
	}
	return out, removed
}
