package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"sync"
)

// exchange is one request and its response, as the contract test
// (contracttest/) reads them from the file that $VIEWCHECK_RECORD names.
type exchange struct {
	Method         string      `json:"method"`
	URL            string      `json:"url"`
	RequestHeader  http.Header `json:"request_header"`
	RequestBody    []byte      `json:"request_body"`
	Status         int         `json:"status"`
	ResponseHeader http.Header `json:"response_header"`
	ResponseBody   []byte      `json:"response_body"`
}

// recorder is a RoundTripper that writes every exchange through it, one
// JSON object a line.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	out  *os.File
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := rec.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return resp, nil // the check reading it sees the error
	}
	line, _ := json.Marshal(exchange{req.Method, req.URL.String(), req.Header, body, resp.StatusCode, resp.Header, data})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.out.Write(append(line, '\n'))
	return resp, nil
}

// recording wraps t in a recorder when $VIEWCHECK_RECORD names a file.
func recording(t http.RoundTripper) http.RoundTripper {
	path := os.Getenv("VIEWCHECK_RECORD")
	if path == "" {
		return t
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fail("VIEWCHECK_RECORD: %v", err)
		return t
	}
	return &recorder{next: t, out: f}
}
