package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

//go:generate go run ../../cmd/futuresgen

// Quote is what the pretend pricing backend answers.
type Quote struct {
	Symbol string
	Price  float64
	Took   time.Duration
}

// FetchQuote stands for a call to a slow backend: 20 to 60 ms.
//
//futures:task timeout=2s
func FetchQuote(ctx context.Context, symbol string) (Quote, error) {
	took := time.Duration(20+rand.IntN(40)) * time.Millisecond
	select {
	case <-time.After(took):
		return Quote{Symbol: symbol, Price: 100 + rand.Float64()*50, Took: took}, nil
	case <-ctx.Done():
		return Quote{}, ctx.Err()
	}
}

var flakyCalls atomic.Int32

// Flaky fails twice, then works: the task loop retries it with backoff.
//
//futures:task retries=3 backoff=10ms
func Flaky(ctx context.Context) (string, error) {
	if n := flakyCalls.Add(1); n < 3 {
		return "", fmt.Errorf("attempt %d: %w", n, errors.New("backend busy"))
	}
	return fmt.Sprintf("succeeded on attempt %d", flakyCalls.Load()), nil
}

// SendWelcome pretends to send an email; views schedule it with
// SendWelcomeLater so that it runs after the response.
//
//futures:task retries=2
func SendWelcome(ctx context.Context, to string) error {
	time.Sleep(5 * time.Millisecond)
	welcomes <- to
	return nil
}

var welcomes = make(chan string, 1)
