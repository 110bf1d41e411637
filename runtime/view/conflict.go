package view

import (
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"weak"
)

// A ServeMux panics when a pattern conflicts with one registered before,
// and its message names the two patterns and the lines that registered
// them: for generated views, both inside this package. So Handle records
// which view holds each pattern of each mux, and turns the panic into an
// error that names both views: the usual case is views of two packages
// registered on one mux.
var registry = struct {
	sync.Mutex
	// Weak keys, so that the registry does not keep a mux alive.
	views map[weak.Pointer[http.ServeMux]]map[string]string // pattern → view name
}{views: map[weak.Pointer[http.ServeMux]]map[string]string{}}

// ConflictError is Handle's error when a view's pattern conflicts with a
// pattern registered on the same mux before, by another view or by other
// code.
type ConflictError struct {
	// View and Pattern are the view that could not be registered.
	View, Pattern string
	// Other is the name of the view registered before whose pattern
	// conflicts, or "" when that pattern was registered outside Handle.
	Other string
	// Reason is net/http's explanation, with the other pattern.
	Reason string
}

func (e *ConflictError) Error() string {
	if e.Other == "" {
		return fmt.Sprintf("view %s: pattern %q: %s", e.View, e.Pattern, e.Reason)
	}
	return fmt.Sprintf("view %s: pattern %q conflicts with view %s: %s", e.View, e.Pattern, e.Other, e.Reason)
}

// handle registers h on mux at spec.Pattern, returning a *ConflictError
// instead of ServeMux's panic when the pattern conflicts with one already
// there.
// HandleHTTP registers h on mux at pattern as Handle registers a view,
// under name: a pattern that conflicts with one registered before fails
// with a *ConflictError that names both, where mux.Handle would panic.
// runtime/socket registers its sockets with it.
func HandleHTTP(mux *http.ServeMux, name, pattern string, h http.Handler) error {
	return handle(mux, &Spec{Name: name, Pattern: pattern}, h)
}

func handle(mux *http.ServeMux, spec *Spec, h http.Handler) (err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		reason := fmt.Sprint(p)
		e := &ConflictError{View: spec.Name, Pattern: spec.Pattern, Reason: reason}
		registry.Lock()
		for pattern, name := range registry.views[weak.Make(mux)] {
			if conflictsWith(pattern, spec.Pattern) {
				e.Other = name
				break
			}
		}
		registry.Unlock()
		err = e
	}()
	mux.Handle(spec.Pattern, h)
	registry.Lock()
	defer registry.Unlock()
	key := weak.Make(mux)
	patterns := registry.views[key]
	if patterns == nil {
		patterns = map[string]string{}
		registry.views[key] = patterns
		// Forget the mux with it: tests make thousands.
		runtime.AddCleanup(mux, forget, key)
	}
	patterns[spec.Pattern] = spec.Name
	return nil
}

// forget drops the patterns of a mux that has been collected.
func forget(key weak.Pointer[http.ServeMux]) {
	registry.Lock()
	defer registry.Unlock()
	delete(registry.views, key)
}

// conflictsWith reports whether patterns a and b conflict, by registering
// both on a scratch mux, which is what decides it.
func conflictsWith(a, b string) (conflict bool) {
	defer func() { conflict = recover() != nil }()
	mux := http.NewServeMux()
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux.Handle(a, nop)
	mux.Handle(b, nop)
	return false
}
