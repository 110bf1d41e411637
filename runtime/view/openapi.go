package view

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

// ServeOpenAPI returns a handler that serves doc, an OpenAPI document in
// JSON, such as the OpenAPI() of a package with a //futures:api directive:
//
//	mux.Handle("GET /openapi.json", view.ServeOpenAPI(api.OpenAPI()))
//
// It answers GET and HEAD with Content-Type application/json, a
// Content-Length and a strong ETag of the document's SHA-256, and answers a
// request whose If-None-Match names that ETag with 304 Not Modified;
// Cache-Control no-cache makes clients revalidate, cheaply, so that they
// see a new deployment's document at once. Other methods get 405. The
// handler keeps doc, which must not change afterwards, and is safe for
// concurrent use. It sets no CORS header: wrap it with the middleware of
// your choice to let a browser on another origin (an API explorer) read it.
func ServeOpenAPI(doc []byte) http.Handler {
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("ETag", etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		// ServeContent answers If-None-Match, ranges and HEAD.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(doc))
	})
}
