package views

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// maxBody is the body limit of every variant: the generated view's default.
const maxBody = 1 << 20

// HandWritten is what a careful developer writes on net/http alone for the
// same view: the same bindings and checks (a malformed value is a 400, an
// unknown body field or trailing data too, a body over 1 MiB a 413) and the
// same JSON answer with a Content-Length. It reports only the first bad
// value, in plain text, where the generated view reports every one as RFC
// 9457 problem JSON; it opens no request scope for after-response tasks and
// recovers no panic.
func HandWritten(w http.ResponseWriter, r *http.Request) {
	var req UpdateRequest
	bad := func(what string) { http.Error(w, "bad "+what, http.StatusBadRequest) }
	req.Store = r.PathValue("store")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		bad("id")
		return
	}
	req.ID = id
	q := r.URL.Query()
	if v := q.Get("dry_run"); v != "" {
		if req.DryRun, err = strconv.ParseBool(v); err != nil {
			bad("dry_run")
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if req.Limit, err = strconv.Atoi(v); err != nil {
			bad("limit")
			return
		}
	}
	req.Token = r.Header.Get("X-Token")
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req.Body); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		bad("body")
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		bad("body")
		return
	}
	out, err := update(&req)
	if err != nil {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
