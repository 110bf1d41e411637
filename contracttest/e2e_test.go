package contracttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// goEnv is the environment of the go commands the tests run: no workspace,
// go.mod updated as needed.
func goEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
}

// goCmd runs the go command in dir and returns its output.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(goEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// futuresgen builds this repository's futuresgen and returns its path.
func futuresgen(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "futuresgen")
	goCmd(t, ".", nil, "build", "-o", bin, "github.com/gofutures/futures/cmd/futuresgen")
	return bin
}

// e2eModule makes a module, example.com/e2e, holding a copy of the
// end-to-end views package of internal/gen, that takes futures from this
// repository.
func e2eModule(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)\s*$`).FindSubmatch(gomod)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "views"), os.DirFS(filepath.Join(root, "internal", "gen", "testdata", "e2e", "views"))); err != nil {
		t.Fatal(err)
	}
	mod := fmt.Sprintf("module example.com/e2e\n\ngo %s\n\nrequire github.com/gofutures/futures v0.0.0\n\nreplace github.com/gofutures/futures => %s\n", goVersion[1], filepath.ToSlash(root))
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// outsideDocument are the exchanges of a viewcheck run that the document
// cannot describe, and why; any other exchange outside it fails the test.
var outsideDocument = []outside{
	{regexp.MustCompile(`^/openapi\.json$`), "the document itself, which view.ServeOpenAPI serves"},
	{regexp.MustCompile(`^/bind/[^/]+/[^/]+/([^/]*/.*)?$`), "a {rest...} wildcard that matches slashes or nothing, which an OpenAPI path parameter cannot"},
}

type outside struct {
	re  *regexp.Regexp
	why string
}

// TestEndToEndExchanges runs the end-to-end check of views (viewcheck)
// against real servers on loopback, recording every exchange, and holds
// each to the package's OpenAPI document with libopenapi-validator: every
// response validates; a request the server accepted validates; a request
// the server refused with a 400 for its values does not; a request the
// view itself refused (404, 409…) validates.
func TestEndToEndExchanges(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir := e2eModule(t)
	bin := futuresgen(t)
	cmd := exec.Command(bin, "./...")
	cmd.Dir = dir
	cmd.Env = goEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("futuresgen: %v\n%s", err, out)
	}
	record := filepath.Join(t.TempDir(), "exchanges.jsonl")
	if out := goCmd(t, dir, []string{"VIEWCHECK_RECORD=" + record}, "run", "./views/cmd/viewcheck"); strings.TrimSpace(out) != "ok" {
		t.Fatalf("viewcheck: %s", out)
	}
	accepted, refused := checkExchanges(t, dir, record, outsideDocument)
	if accepted < 25 || refused < 5 {
		t.Errorf("%d accepted and %d refused requests checked; want the whole viewcheck run", accepted, refused)
	}
}

// clientOutsideDocument are the exchanges of a clientcheck run that the
// document cannot describe, and why.
var clientOutsideDocument = append([]outside{
	{regexp.MustCompile(`^/api/`), "the views served under a prefix, for a client whose base URL has a path, which the document's servers do not name"},
	{regexp.MustCompile(`^/echo(-bind)?/[^/]+/[^/]+/([^/]*/.*)?$`), "a {rest...} wildcard that matches slashes or nothing, which an OpenAPI path parameter cannot"},
}, outsideDocument...)

// TestClientExchanges runs the end-to-end check of the generated client
// (clientcheck), recording every exchange, and holds each to the views'
// OpenAPI document as TestEndToEndExchanges does: every request the
// generated client sends validates against the document, unless the
// server refused its values with a 400 (clientcheck breaks every rule on
// purpose), which then must not validate; every response validates. So
// the client and the document agree, including on the random values of
// clientcheck's round trip.
func TestClientExchanges(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir := e2eModule(t)
	bin := futuresgen(t)
	cmd := exec.Command(bin, "./...")
	cmd.Dir = dir
	cmd.Env = goEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("futuresgen: %v\n%s", err, out)
	}
	record := filepath.Join(t.TempDir(), "exchanges.jsonl")
	if out := goCmd(t, dir, []string{"CLIENTCHECK_RECORD=" + record}, "run", "./views/cmd/clientcheck"); strings.TrimSpace(out) != "ok" {
		t.Fatalf("clientcheck: %s", out)
	}
	accepted, refused := checkExchanges(t, dir, record, clientOutsideDocument)
	// Most of the round trip's {rest...} values have slashes, which are
	// outside the document; the others, with every other value random,
	// are checked.
	if accepted < 60 || refused < 3 {
		t.Errorf("%d accepted and %d refused requests checked; want the whole clientcheck run", accepted, refused)
	}
}

// checkExchanges holds the exchanges recorded in the file record to the
// OpenAPI document of the views package of the module in dir, and returns
// how many requests the views took (or refused themselves) and how many
// they refused for their values.
func checkExchanges(t *testing.T, dir, record string, outsideDocument []outside) (accepted, refused int) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(dir, "views", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, "the document of the end-to-end views", doc)

	f, err := os.Open(record)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	checked, limits, skipped := 0, 0, map[string]int{}
	for sc.Scan() {
		var x exchange
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			t.Fatal(err)
		}
		req := x.request()
		what := fmt.Sprintf("%s %s → %d", x.Method, req.URL.RequestURI(), x.Status)
		if i := slices.IndexFunc(outsideDocument, func(o outside) bool { return o.re.MatchString(req.URL.Path) }); i >= 0 {
			skipped[outsideDocument[i].why]++
			continue
		}
		_, reqErrs := v.ValidateHttpRequest(req)
		if len(reqErrs) > 0 && (reqErrs[0].IsPathMissingError() || reqErrs[0].IsOperationMissingError()) {
			t.Errorf("%s: not in the document:\n%s", what, describe(reqErrs))
			continue
		}
		reqErrs, n := withoutValidatorLimits(reqErrs)
		reqOK := len(reqErrs) == 0
		limits += n
		checked++
		req = x.request()
		if _, errs := v.ValidateHttpResponse(req, x.response(req)); len(errs) > 0 {
			errs, n := withoutValidatorLimits(errs)
			limits += n
			if len(errs) > 0 {
				t.Errorf("%s: the response does not validate:\n%s\nresponse: %s", what, describe(errs), x.ResponseBody)
			}
		}
		switch {
		case x.Status == http.StatusBadRequest && isFieldProblem(x.ResponseBody):
			refused++
			if reqOK {
				t.Errorf("%s: the server refused the request's values (%s), but the request validates against the document", what, x.ResponseBody)
			}
		case x.Status == http.StatusRequestEntityTooLarge || x.Status == http.StatusUnsupportedMediaType ||
			x.Status == http.StatusRequestTimeout || x.Status == http.StatusServiceUnavailable || x.Status == http.StatusBadRequest:
			// Refusals that no schema states: sizes, media types, time.
		default:
			accepted++
			if !reqOK {
				t.Errorf("%s: the server accepted the request, which does not validate against the document:\n%s\nrequest body: %s", what, describe(reqErrs), x.RequestBody)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d exchanges checked against the document: %d requests the views took (or refused themselves), %d refused for their values; outside it: %v; errors of the validator's integer limits left out: %d",
		checked, accepted, refused, skipped, limits)
	return accepted, refused
}

// isFieldProblem reports whether a 400 problem lists bad values.
func isFieldProblem(body []byte) bool {
	var p struct {
		Errors []json.RawMessage `json:"errors"`
	}
	return json.Unmarshal(body, &p) == nil && len(p.Errors) > 0 && !bytes.Contains(body, []byte(`"name":"","detail":"malformed`))
}
