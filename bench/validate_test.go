package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-playground/validator/v10"

	"github.com/gofutures/futures/bench/validate"
	"github.com/gofutures/futures/runtime/view"
)

// validationMuxes are the contenders of BenchmarkValidation: the views
// futuresgen generated, and the same on net/http with
// go-playground/validator.
func validationMuxes(tb testing.TB) []struct {
	name string
	mux  *http.ServeMux
} {
	generated := http.NewServeMux()
	if err := validate.RegisterViews(generated); err != nil {
		tb.Fatal(err)
	}
	hand := http.NewServeMux()
	hand.HandleFunc("POST /signups", validate.CreateSignupHandWritten)
	hand.HandleFunc("GET /search", validate.SearchHandWritten)
	hand.HandleFunc("POST /plain/signups", validate.CreatePlainSignupHandWritten)
	hand.HandleFunc("GET /plain/search", validate.PlainSearchHandWritten)
	return []struct {
		name string
		mux  *http.ServeMux
	}{{"futures", generated}, {"validator", hand}}
}

// The requests of the benchmarks: each passes, or breaks, every rule.
const (
	validSignup = `{"email":"ada@example.com","name":"Ada Lovelace","age":36,"country":"GB",` +
		`"website":"https://ada.example.com","id":"123e4567-e89b-12d3-a456-426614174000","plan":"pro",` +
		`"tags":["math","engines"],"host":"ada.example.com","ip":"192.0.2.1"}`
	invalidSignup = `{"email":"ada@","name":"A","age":12,"country":"GBR","website":"nope","id":"nope",` +
		`"plan":"gold","tags":["a","b","c","d","e","f"],"host":"1bad","ip":"300.1.1.1"}`
	validSearch = "/search?q=engines&email=ada@example.com&page=2&size=20&sort=date&lang=en" +
		"&since=2024-01-31&owner=123e4567-e89b-12d3-a456-426614174000&site=https://example.com&tag=math&tag=poetry"
	invalidSearch = "/search?q=e&email=ada@&page=5000&size=30&sort=size&lang=eng&since=2024-13-01" +
		"&owner=nope&site=nope&tag=a&tag=b&tag=c&tag=d&tag=e&tag=f"
)

func validationRequest(tb testing.TB, scenario string) *http.Request {
	var r *http.Request
	switch scenario {
	case "body-valid":
		r = httptest.NewRequest(http.MethodPost, "/signups", strings.NewReader(validSignup))
	case "body-invalid":
		r = httptest.NewRequest(http.MethodPost, "/signups", strings.NewReader(invalidSignup))
	case "query-valid":
		r = httptest.NewRequest(http.MethodGet, validSearch, nil)
	case "query-invalid":
		r = httptest.NewRequest(http.MethodGet, invalidSearch, nil)
	case "body-norules":
		r = httptest.NewRequest(http.MethodPost, "/plain/signups", strings.NewReader(validSignup))
	case "query-norules":
		r = httptest.NewRequest(http.MethodGet, "/plain"+validSearch, nil)
	default:
		tb.Fatalf("no scenario %s", scenario)
	}
	if r.Body != http.NoBody {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// validationScenarios: each kind of request, valid and invalid, and the
// valid one to the same handler without rules, whose time, subtracted,
// leaves the cost of the checks alone.
var validationScenarios = []string{"body-norules", "body-valid", "body-invalid", "query-norules", "query-valid", "query-invalid"}

// TestValidationAgrees checks that the contenders of BenchmarkValidation
// do the same work: they accept the valid requests with the same answer,
// and refuse the invalid ones with a 400 that lists all ten bad fields.
func TestValidationAgrees(t *testing.T) {
	for _, sc := range validationScenarios {
		var answers []string
		for _, c := range validationMuxes(t) {
			w := httptest.NewRecorder()
			c.mux.ServeHTTP(w, validationRequest(t, sc))
			var body struct {
				Errors []json.RawMessage `json:"errors"`
			}
			json.Unmarshal(w.Body.Bytes(), &body)
			switch {
			case !strings.HasSuffix(sc, "-invalid") && w.Code/100 != 2:
				t.Errorf("%s %s: %d %s; want success", c.name, sc, w.Code, w.Body)
			case strings.HasSuffix(sc, "-invalid") && (w.Code != http.StatusBadRequest || len(body.Errors) != 10):
				t.Errorf("%s %s: %d with %d errors; want a 400 with 10: %s", c.name, sc, w.Code, len(body.Errors), w.Body)
			}
			if w.Code/100 == 2 {
				answers = append(answers, w.Body.String())
			}
		}
		if len(slices.Compact(answers)) > 1 {
			t.Errorf("%s: different answers %q", sc, answers)
		}
	}
}

// TestChecksAgreeWithValidator holds runtime/view's string checks, which
// generated code calls, to go-playground/validator's rules of the same
// names, on the same strings: both accept, or both refuse, each of them.
func TestChecksAgreeWithValidator(t *testing.T) {
	v := validator.New()
	cases := map[string][]string{
		"email": {"ada@example.com", "a.b+tag@mail.example.org", "x@localhost", `"a b"@example.com`, "a@[192.0.2.1]", "a@[IPv6:2001:db8::1]", "o'neil@example.ie", "x_y@example.co.uk", "ü@exämple.de",
			"", "ada", "@example.com", "ada@", "ada@@example.com", "a..b@example.com", ".a@example.com", "a.@example.com",
			"a b@example.com", "ada@-example.com", "ada@example..com", "Ada <ada@example.com>", "ada@example.com.", "ada@exa_mple.com"},
		"url": {"https://example.com", "http://example.com/a?b=c#d", "mailto:ada@example.com", "ftp://files.example.com/x",
			"file:///etc/hosts", "urn:isbn:0451450523", "", "example.com", "/relative/path", "https://", "file:///", "http://[::1", "://x", "#frag"},
		"uuid":     {"123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000", "", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g"},
		"alpha":    {"abc", "ABCxyz", "", "abc1", "ab c", "é"},
		"alphanum": {"abc1", "A9", "", "a-b", "a b", "ü"},
		"numeric":  {"0", "-1", "+12", "3.14", "-0.5", "", "1.", ".5", "1e3", "0x10", "--1", "1.2.3", "+"},
		"hostname": {"example", "example.com", "a-b.example.com", "x1.example.com", "a.1b.c", "", "1example.com", "-a.com", "a-.com", "a..com", "a.com.", "exa_mple.com", "ü.com"},
		"ip":       {"192.0.2.1", "::1", "2001:db8::1", "::ffff:192.0.2.1", "", "192.0.2", "256.1.1.1", "01.2.3.4", "fe80::1%eth0", "example.com"},
	}
	ours := map[string]func(string) bool{
		"email": view.IsEmail, "url": view.IsURL, "uuid": view.IsUUID, "alpha": view.IsAlpha, "alphanum": view.IsAlphanumeric,
		"numeric": view.IsNumeric, "hostname": view.IsHostname, "ip": view.IsIP,
	}
	for rule, inputs := range cases {
		for _, s := range inputs {
			theirs := v.Var(s, rule) == nil
			if got := ours[rule](s); got != theirs {
				t.Errorf("%s %q: runtime/view says %v, validator says %v", rule, s, got, theirs)
			}
		}
	}
}

// BenchmarkValidation serves each scenario of validationScenarios with each
// contender, in-process (ServeHTTP with a ResponseRecorder). cpu-ns/op,
// the process's CPU time per request, is what a machine shared with other
// work disturbs least: the cost of the checks alone is the difference of
// two scenarios, which wall time on a busy machine buries in noise.
func BenchmarkValidation(b *testing.B) {
	for _, sc := range validationScenarios {
		for _, c := range validationMuxes(b) {
			b.Run(fmt.Sprintf("%s/impl=%s", sc, c.name), func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					w := httptest.NewRecorder()
					c.mux.ServeHTTP(w, validationRequest(b, sc))
					if w.Code/100 != 2 && w.Code != http.StatusBadRequest {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
				cpu.report(b)
			})
		}
	}
}
