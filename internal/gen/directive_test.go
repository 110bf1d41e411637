package gen

import (
	"strings"
	"testing"
	"time"
)

func TestParseDirective(t *testing.T) {
	for _, tc := range []struct {
		line    string
		kind    string
		args    []string
		options []option
		errOff  int
		errHas  string
	}{
		{line: "//futures:task", kind: "task"},
		{line: "//futures:task   ", kind: "task"},
		{line: "//futures:task retries=3 timeout=30s", kind: "task", options: []option{
			{key: "retries", value: "3", hasValue: true, off: 15, valueOff: 23},
			{key: "timeout", value: "30s", hasValue: true, off: 25, valueOff: 33},
		}},
		{line: "//futures:task\tdurable queue=mail", kind: "task", args: []string{"durable"}, options: []option{
			{key: "queue", value: "mail", hasValue: true, off: 23, valueOff: 29},
		}},
		{line: "//futures:task retries=1 durable", kind: "task", options: []option{
			{key: "retries", value: "1", hasValue: true, off: 15, valueOff: 23},
			{key: "durable", off: 25},
		}},
		{line: `//futures:task name="send mail" queue=` + "`q 1`", kind: "task", options: []option{
			{key: "name", value: "send mail", hasValue: true, off: 15, valueOff: 20},
			{key: "queue", value: "q 1", hasValue: true, off: 32, valueOff: 38},
		}},
		{line: `//futures:task name="a\"b"`, kind: "task", options: []option{
			{key: "name", value: `a"b`, hasValue: true, off: 15, valueOff: 20},
		}},
		{line: "//futures:view GET /signup/{id} timeout=5s", kind: "view", args: []string{"GET", "/signup/{id}"}, options: []option{
			{key: "timeout", value: "5s", hasValue: true, off: 32, valueOff: 40},
		}},
		{line: `//futures:view "GET" "/a b"`, kind: "view", args: []string{"GET", "/a b"}},
		{line: "//futures:", errOff: 10, errHas: "missing directive name"},
		{line: "//futures:task-x", errOff: 14, errHas: `unexpected "-"`},
		{line: "//futures:task =3", errOff: 15, errHas: "missing option name"},
		{line: "//futures:task retries=", errOff: 23, errHas: "missing value after retries="},
		{line: "//futures:task retries= 3", errOff: 23, errHas: "missing value"},
		{line: `//futures:task name="abc`, errOff: 20, errHas: "unterminated"},
		{line: `//futures:task name="a"b`, errOff: 23, errHas: "expected a space"},
		{line: `//futures:task name=a"b"`, errOff: 21, errHas: "quote the whole value"},
		{line: `//futures:task "x"y`, errOff: 18, errHas: "expected a space"},
		{line: `//futures:task ab"c"`, errOff: 17, errHas: "quote the whole value"},
		{line: `//futures:task name="\q"`, errOff: 20, errHas: "bad quoted string"},
		{line: "//futures:task name=\xff", errOff: 0, errHas: "UTF-8"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			d, err := parseDirective(tc.line)
			if tc.errHas != "" {
				if err == nil {
					t.Fatalf("parsed %+v, want error containing %q", d, tc.errHas)
				}
				if err.off != tc.errOff || !strings.Contains(err.msg, tc.errHas) {
					t.Fatalf("error at %d %q, want at %d containing %q", err.off, err.msg, tc.errOff, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("error at %d: %s", err.off, err.msg)
			}
			if d.kind != tc.kind {
				t.Errorf("kind %q, want %q", d.kind, tc.kind)
			}
			var args []string
			for _, a := range d.args {
				args = append(args, a.text)
			}
			if strings.Join(args, "|") != strings.Join(tc.args, "|") {
				t.Errorf("args %q, want %q", args, tc.args)
			}
			if len(d.options) != len(tc.options) {
				t.Fatalf("options %+v, want %+v", d.options, tc.options)
			}
			for i, o := range d.options {
				if o != tc.options[i] {
					t.Errorf("option %d = %+v, want %+v", i, o, tc.options[i])
				}
			}
		})
	}
}

func TestCheckOptions(t *testing.T) {
	for _, tc := range []struct {
		line   string
		want   map[string]optValue
		errs   []string
		errOff []int
	}{
		{line: "//futures:task retries=3 backoff=250ms timeout=1m30s delay=2h every=10s queue=mail name=example.com/x.Send durable",
			want: map[string]optValue{
				"retries": {set: true, n: 3, str: "3"},
				"backoff": {set: true, dur: 250 * time.Millisecond, str: "250ms"},
				"timeout": {set: true, dur: 90 * time.Second, str: "1m30s"},
				"delay":   {set: true, dur: 2 * time.Hour, str: "2h"},
				"every":   {set: true, dur: 10 * time.Second, str: "10s"},
				"queue":   {set: true, str: "mail"},
				"name":    {set: true, str: "example.com/x.Send"},
				"durable": {set: true, flag: true},
			}},
		{line: "//futures:task durable=false", want: map[string]optValue{"durable": {set: true}}},
		{line: "//futures:task retry=3", errs: []string{`unknown option "retry" for //futures:task (did you mean "retries"?); options are backoff, cron, delay, durable, every, limit, name, priority, queue, retries, timeout, unique`}, errOff: []int{15}},
		{line: "//futures:task retries=3 retries=4", errs: []string{"duplicate option retries"}, errOff: []int{25}},
		{line: "//futures:task retries=-1", errs: []string{`retries wants an integer ≥ 0, not "-1"`}, errOff: []int{23}},
		{line: "//futures:task retries=three", errs: []string{`retries wants an integer ≥ 0, not "three"`}, errOff: []int{23}},
		{line: "//futures:task retries=99999999999", errs: []string{"retries wants an integer"}, errOff: []int{23}},
		{line: "//futures:task timeout=30", errs: []string{`timeout wants a positive duration such as 30s or 1m30s, not "30"`}, errOff: []int{23}},
		{line: "//futures:task timeout=0s", errs: []string{"timeout wants a positive duration"}, errOff: []int{23}},
		{line: "//futures:task every=-1s", errs: []string{"every wants a positive duration"}, errOff: []int{21}},
		{line: "//futures:task durable=maybe", errs: []string{`durable wants true or false, not "maybe"`}, errOff: []int{23}},
		{line: "//futures:task retries=1 timeout", errs: []string{"option timeout needs a value (timeout=…, a duration such as 30s or 1m30s)"}, errOff: []int{25}},
		{line: `//futures:task queue="a b"`, errs: []string{`queue wants a name of letters, digits and . _ - / :, not "a b"`}, errOff: []int{21}},
		{line: "//futures:task retries=x timeout=y bogus=1", errs: []string{"retries wants", "timeout wants", `unknown option "bogus"`}, errOff: []int{23, 33, 35}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			d, serr := parseDirective(tc.line)
			if serr != nil {
				t.Fatal(serr)
			}
			got, problems := checkOptions(d, taskOptions)
			if len(problems) != len(tc.errs) {
				t.Fatalf("problems %v, want %d: %q", problems, len(tc.errs), tc.errs)
			}
			for i, p := range problems {
				if !strings.Contains(p.msg, tc.errs[i]) || p.off != tc.errOff[i] {
					t.Errorf("problem %d at %d %q, want at %d containing %q", i, p.off, p.msg, tc.errOff[i], tc.errs[i])
				}
			}
			if tc.errs != nil {
				return
			}
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s = %+v, want %+v", k, got[k], want)
				}
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "1024": 1024, "1KiB": 1024, "1MiB": 1 << 20, "2MB": 2e6, "3GiB": 3 << 30, "10B": 10, "512KB": 512000} {
		if got, ok := parseSize(in); !ok || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "1TB", "MiB", "1.5MiB", "99999999999999999GiB"} {
		if got, ok := parseSize(in); ok {
			t.Errorf("parseSize(%q) = %d, want failure", in, got)
		}
	}
}

// FuzzParseDirective checks that no directive line makes the parser panic,
// that every error and option points inside the line, and that the options
// of a parsed line survive being checked against a schema.
func FuzzParseDirective(f *testing.F) {
	for _, seed := range []string{
		"//futures:task",
		"//futures:task retries=3 timeout=30s durable",
		`//futures:task name="a b" queue=` + "`x`",
		"//futures:view POST /signup/{id...} maxbody=1MiB status=201",
		`//futures:task name="\u00e9\x41"`,
		"//futures:task =",
		`//futures:task "`,
		"//futures:tásk",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if !strings.HasPrefix(line, directivePrefix) {
			line = directivePrefix + line
		}
		d, err := parseDirective(line)
		if err != nil {
			if err.off < 0 || err.off > len(line) || err.msg == "" {
				t.Fatalf("error %+v out of the line %q", err, line)
			}
			return
		}
		if d.kind == "" {
			t.Fatalf("empty kind from %q", line)
		}
		for _, a := range d.args {
			if a.off < 0 || a.off >= len(line) {
				t.Fatalf("arg %+v out of the line %q", a, line)
			}
		}
		for _, o := range d.options {
			if o.key == "" || o.off < 0 || o.off >= len(line) || o.valueOff > len(line) || (o.hasValue && o.valueOff <= o.off) {
				t.Fatalf("option %+v out of the line %q", o, line)
			}
		}
		_, problems := checkOptions(d, taskOptions)
		for _, p := range problems {
			if p.off < 0 || p.off > len(line) || p.msg == "" {
				t.Fatalf("problem %+v out of the line %q", p, line)
			}
		}
	})
}
