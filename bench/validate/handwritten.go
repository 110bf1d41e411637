package validate

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/go-playground/validator/v10"
)

// validate is shared, as validator's documentation advises: it caches
// what it learns of each struct type.
var validate = validator.New(validator.WithRequiredStructEnabled())

// fieldError is one bad value in the hand-written handlers' 400.
type fieldError struct {
	In     string `json:"in"`
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// badRequest writes every validation error in one 400, as the generated
// views do (as JSON; the rule's tag stands for the generated message).
func badRequest(w http.ResponseWriter, in string, err error) {
	var list []fieldError
	var verrs validator.ValidationErrors
	if errors.As(err, &verrs) {
		for _, fe := range verrs {
			list = append(list, fieldError{In: in, Name: fe.Namespace(), Detail: fe.Tag()})
		}
	} else {
		list = append(list, fieldError{In: in, Detail: err.Error()})
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"status": 400, "errors": list})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// CreateSignupHandWritten is CreateSignup on net/http with validator:
// the same body limit and strict decoding, then validate.Struct.
func CreateSignupHandWritten(w http.ResponseWriter, r *http.Request) { createSignup(w, r, true) }

// CreatePlainSignupHandWritten is CreateSignupHandWritten without
// validate.Struct: the baseline of its cost.
func CreatePlainSignupHandWritten(w http.ResponseWriter, r *http.Request) { createSignup(w, r, false) }

func createSignup(w http.ResponseWriter, r *http.Request, check bool) {
	var in Signup
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		badRequest(w, "body", err)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		badRequest(w, "body", errors.New("unexpected data after the JSON value"))
		return
	}
	if check {
		if err := validate.Struct(&in); err != nil {
			badRequest(w, "body", err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, Created{ID: in.ID, Email: in.Email})
}

// SearchHandWritten is Search on net/http with validator: the same
// parameters parsed, then validate.Struct.
func SearchHandWritten(w http.ResponseWriter, r *http.Request) { search(w, r, true) }

// PlainSearchHandWritten is SearchHandWritten without validate.Struct:
// the baseline of its cost.
func PlainSearchHandWritten(w http.ResponseWriter, r *http.Request) { search(w, r, false) }

func search(w http.ResponseWriter, r *http.Request, check bool) {
	q := r.URL.Query()
	req := SearchRequest{
		Q: q.Get("q"), Email: q.Get("email"), Sort: q.Get("sort"), Lang: q.Get("lang"),
		Since: q.Get("since"), Owner: q.Get("owner"), Site: q.Get("site"), Tags: q["tag"],
	}
	var bad []fieldError
	for name, dst := range map[string]*int{"page": &req.Page, "size": &req.Size} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad = append(bad, fieldError{In: "query", Name: name, Detail: "want an integer"})
			}
			*dst = n
		}
	}
	if len(bad) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": 400, "errors": bad})
		return
	}
	if check {
		if err := validate.Struct(&req); err != nil {
			badRequest(w, "query", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, Results{Q: req.Q, Page: req.Page, Count: len(req.Tags)})
}
