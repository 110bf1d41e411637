package view_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofutures/futures/runtime/view"
)

func TestServeOpenAPI(t *testing.T) {
	doc := []byte(`{"openapi": "3.1.0"}` + "\n")
	h := view.ServeOpenAPI(doc)

	get := func(method string, header ...string) *http.Response {
		r := httptest.NewRequest(method, "/openapi.json", nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}

	res := get(http.MethodGet)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || string(body) != string(doc) {
		t.Fatalf("GET: %d %q; want 200 and the document", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q; want application/json", ct)
	}
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Errorf("ETag %q; want a strong ETag", etag)
	}
	if cl := res.Header.Get("Content-Length"); cl != "21" {
		t.Errorf("Content-Length %q; want 21", cl)
	}

	if res := get(http.MethodGet, "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match of its ETag: %d; want 304", res.StatusCode)
	}
	if res := get(http.MethodGet, "If-None-Match", `"other"`); res.StatusCode != http.StatusOK {
		t.Errorf("GET with If-None-Match of another ETag: %d; want 200", res.StatusCode)
	}
	res = get(http.MethodHead)
	body, _ = io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD: %d with %d bytes; want 200 and no body", res.StatusCode, len(body))
	}
	res = get(http.MethodPost)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q; want 405 with Allow: GET, HEAD", res.StatusCode, res.Header.Get("Allow"))
	}

	// A document of another content has another ETag.
	other := view.ServeOpenAPI([]byte(`{"openapi": "3.0.3"}`))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	other.ServeHTTP(w, r)
	if w.Header().Get("ETag") == etag {
		t.Errorf("two documents share the ETag %s", etag)
	}
}
