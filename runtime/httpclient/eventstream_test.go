package httpclient

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// parsed is what an EventSource makes of a stream: its events, each with
// the last event ID string at its dispatch, and that string at the end.
type parsed struct {
	events []parsedEvent
	lastID string
	err    error
}

type parsedEvent struct {
	name, data, lastID string
}

// readAll reads every event of r with an eventReader.
func readAll(r io.Reader, limit int64) parsed {
	er := newEventReader(r, limit)
	var p parsed
	for {
		ev, err := er.next()
		if err != nil {
			p.lastID, p.err = er.lastID, err
			return p
		}
		p.events = append(p.events, parsedEvent{ev.name, string(ev.data), er.lastID})
	}
}

// reference parses an event stream as the WHATWG HTML standard's text
// says, step by step, on the whole stream at once: decode it (UTF-8,
// byte order mark removed), split it into lines, interpret each. It is
// written from the standard, not from eventReader, to hold it to the
// standard.
func reference(stream []byte) parsed {
	s := whatwgDecode(stream)
	var (
		p                    parsed
		data, name, idBuffer string
		lastID               string
	)
	var lines []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r':
			lines = append(lines, s[start:i])
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			start = i + 1
		case '\n':
			lines = append(lines, s[start:i])
			start = i + 1
		}
	}
	// What follows the last line end is not a line: "Once the end of
	// the file is reached, any pending data must be discarded."
	for _, line := range lines {
		switch {
		case line == "":
			lastID = idBuffer
			if data == "" {
				name = ""
				continue
			}
			data = strings.TrimSuffix(data, "\n")
			ev := parsedEvent{name: "message", data: data, lastID: lastID}
			if name != "" {
				ev.name = name
			}
			p.events = append(p.events, ev)
			data, name = "", ""
		case line[0] == ':':
		default:
			field, value, found := strings.Cut(line, ":")
			if found {
				value = strings.TrimPrefix(value, " ")
			}
			switch field {
			case "event":
				name = value
			case "data":
				data += value + "\n"
			case "id":
				if !strings.Contains(value, "\x00") {
					idBuffer = value
				}
			}
		}
	}
	p.lastID, p.err = lastID, io.EOF
	return p
}

// whatwgDecode is the Encoding standard's "UTF-8 decode", its decoder as
// the standard writes it: a BOM removed, then byte by byte with "bytes
// needed", "bytes seen" and the boundaries.
func whatwgDecode(b []byte) string {
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	var out strings.Builder
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(b); {
		c := b[i]
		if needed == 0 {
			i++
			switch {
			case c <= 0x7F:
				out.WriteByte(c)
			case c >= 0xC2 && c <= 0xDF:
				needed, cp = 1, rune(c&0x1F)
			case c >= 0xE0 && c <= 0xEF:
				if c == 0xE0 {
					lower = 0xA0
				}
				if c == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(c&0xF)
			case c >= 0xF0 && c <= 0xF4:
				if c == 0xF0 {
					lower = 0x90
				}
				if c == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(c&0x7)
			default:
				out.WriteRune(utf8.RuneError)
			}
			continue
		}
		if c < lower || c > upper {
			// Error; the byte is "prepended to the stream": not consumed.
			cp, needed, seen, lower, upper = 0, 0, 0, 0x80, 0xBF
			out.WriteRune(utf8.RuneError)
			continue
		}
		i++
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(c&0x3F)
		seen++
		if seen == needed {
			out.WriteRune(cp)
			cp, needed, seen = 0, 0, 0
		}
	}
	if needed != 0 {
		out.WriteRune(utf8.RuneError)
	}
	return out.String()
}

func TestEventReader(t *testing.T) {
	ev := func(name, data, lastID string) parsedEvent { return parsedEvent{name, data, lastID} }
	for _, tc := range []struct {
		name, in string
		want     []parsedEvent
		lastID   string
	}{
		{"one event", "id: 1\ndata: {\"n\":1}\n\n", []parsedEvent{ev("message", `{"n":1}`, "1")}, "1"},
		{"CRLF", "id: 1\r\ndata: a\r\n\r\ndata: b\r\n\r\n", []parsedEvent{ev("message", "a", "1"), ev("message", "b", "1")}, "1"},
		{"CRLF in an event", "data: a\r\ndata: b\r\n\r\n", []parsedEvent{ev("message", "a\nb", "")}, ""},
		{"CR", "data: a\r\rdata: b\r\r", []parsedEvent{ev("message", "a", ""), ev("message", "b", "")}, ""},
		{"mixed ends", "data: a\r\n\rdata: b\n\r\n", []parsedEvent{ev("message", "a", ""), ev("message", "b", "")}, ""},
		{"byte order mark", "\uFEFFdata: a\n\n", []parsedEvent{ev("message", "a", "")}, ""},
		{"only the first BOM", "\uFEFF\uFEFFdata: a\n\n", nil, ""},
		{"comments and heartbeats", ": hi\n\n: heartbeat\n\ndata: a\n: in between\n\n", []parsedEvent{ev("message", "a", "")}, ""},
		{"named events", "event: error\ndata: {}\n\nevent: end\ndata:\n\ndata: x\n\n",
			[]parsedEvent{ev("error", "{}", ""), ev("end", "", ""), ev("message", "x", "")}, ""},
		{"multi-line data", "data: a\ndata\ndata:  b\ndata:c\n\n", []parsedEvent{ev("message", "a\n\n b\nc", "")}, ""},
		{"no data, no event", "event: x\nid: 7\n\ndata: a\n\n", []parsedEvent{ev("message", "a", "7")}, "7"},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", []parsedEvent{ev("message", "a", "1"), ev("message", "b", "1")}, "1"},
		{"empty id resets", "id: 1\ndata: a\n\nid\ndata: b\n\n", []parsedEvent{ev("message", "a", "1"), ev("message", "b", "")}, ""},
		{"unknown fields and retry", "retry: 10\nfoo: bar\ndata: a\n\n", []parsedEvent{ev("message", "a", "")}, ""},
		{"unfinished event discarded", "data: a\n\ndata: b\n", []parsedEvent{ev("message", "a", "")}, ""},
		{"unfinished line discarded", "data: a\n\nid: 9", []parsedEvent{ev("message", "a", "")}, ""},
		{"field names are exact", "Data: a\ndata : b\n\n", nil, ""},
		{"invalid UTF-8", "data: \xe2\x82A\xff\n\n", []parsedEvent{ev("message", "\uFFFDA\uFFFD", "")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := parsed{events: tc.want, lastID: tc.lastID, err: io.EOF}
			for _, r := range []struct {
				how string
				r   io.Reader
			}{
				{"whole", strings.NewReader(tc.in)},
				{"byte by byte", iotest.OneByteReader(strings.NewReader(tc.in))},
			} {
				if got := readAll(r.r, 0); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %+v\nwant %+v", r.how, got, want)
				}
			}
			if got := reference([]byte(tc.in)); !reflect.DeepEqual(got, want) {
				t.Errorf("the reference: got %+v\nwant %+v", got, want)
			}
		})
	}
}

// A CR that ends a read, then an LF in the next, is one line end: an
// event ended by CR CR is dispatched without waiting for another byte,
// and the LF that follows does not end another line.
func TestEventReaderCRAtReadBoundary(t *testing.T) {
	pr, pw := io.Pipe()
	er := newEventReader(pr, 0)
	go func() {
		pw.Write([]byte("data: a\r\r"))
		// Not written until the event was read: a reader that peeks past
		// the CR would wait here forever.
	}()
	ev, err := er.next()
	if err != nil || ev.name != "message" || string(ev.data) != "a" {
		t.Fatalf("got %+v, %v", ev, err)
	}
	go func() {
		pw.Write([]byte("\ndata: b\r"))
		pw.Write([]byte("\n\r\n"))
		pw.Close()
	}()
	ev, err = er.next()
	if err != nil || string(ev.data) != "b" {
		t.Fatalf("got %+v, %v", ev, err)
	}
	if _, err := er.next(); err != io.EOF {
		t.Fatalf("after the last event: %v; want io.EOF", err)
	}
}

func TestEventReaderLimit(t *testing.T) {
	for _, in := range []string{
		"data: " + strings.Repeat("x", 100) + "\n\n",                                 // one long line
		strings.Repeat("data: "+strings.Repeat("x", 30)+"\n", 4) + "\n",              // many lines of one event
		": " + strings.Repeat("x", 200),                                              // a comment that never ends
		"data: " + strings.Repeat("x", 60) + "\n\ndata: " + strings.Repeat("y", 120), // the second event
	} {
		got := readAll(strings.NewReader(in), 64)
		if !errors.Is(got.err, ErrResponseTooLarge) {
			t.Errorf("%.20q…: %v; want ErrResponseTooLarge", in, got.err)
		}
	}
	if got := readAll(strings.NewReader("data: "+strings.Repeat("x", 57)+"\n\n"), 64); got.err != io.EOF || len(got.events) != 1 {
		t.Errorf("an event at the limit: %+v", got)
	}
}

// FuzzEventStream holds eventReader to the reference, which follows the
// standard's text, on any bytes read in any chunks.
func FuzzEventStream(f *testing.F) {
	for _, s := range []string{
		"id: 1\ndata: {\"n\":1}\n\n",
		"data: a\r\n\r\ndata: b\r\rdata: c\n\n",
		"\uFEFFevent: end\ndata:\n\n",
		": heartbeat\n\nid: 2\x00\ndata\n\n",
		"data: \xe2\x82A\xff\xf0\x90\x80\n\n",
		"data: a\n\ndata: b",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		want := reference(stream)
		var r io.Reader = bytes.NewReader(stream)
		if chunk > 0 {
			r = &chunkReader{data: stream, n: int(chunk%7) + 1}
		}
		got := readAll(r, 0)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q in chunks of %d:\n got %+v\nwant %+v", stream, chunk%7+1, got, want)
		}
	})
}

// chunkReader returns its data n bytes a read.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}
