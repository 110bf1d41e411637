// Package options uses every task option.
package options

import "context"

//futures:task retries=5 backoff=250ms timeout=1m30s delay=2h queue=mail name=mail.send
func Send(ctx context.Context, to string) error { return nil }

//futures:task durable retries=3 timeout=10s
func Durable(ctx context.Context, msg Message, ids []int64, meta map[string]string, at *Stamp) error {
	return nil
}

//futures:task every=1500ms
func Tick(ctx context.Context) {}

//futures:task every=24h delay=1h queue="nightly"
func Nightly() (string, error) { return "", nil }

//futures:task timeout=1ns retries=1 backoff=1us
func Tiny(ctx context.Context) error { return nil }

// Message travels as JSON.
type Message struct {
	Subject string `json:"subject"`
	Body    string
	secret  string `json:"-"`
	Embedded
}

// Embedded structs have their fields promoted by encoding/json.
type Embedded struct{ Tag string }

// Stamp marshals itself.
type Stamp struct{ unix int64 }

func (s Stamp) MarshalJSON() ([]byte, error)  { return []byte("0"), nil }
func (s *Stamp) UnmarshalJSON(b []byte) error { return nil }
