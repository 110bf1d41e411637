package options

import "context"

//futures:task retry=3
func A(ctx context.Context) error { return nil }

//futures:task retries=3 retries=4
func B(ctx context.Context) error { return nil }

//futures:task timeout=30 backoff=-1s every=0s delay=soon
func C(ctx context.Context) error { return nil }

//futures:task durable=maybe queue="a b" name=
func D(ctx context.Context) error { return nil }

//futures:task retries timeout=1s extra
func E(ctx context.Context) error { return nil }

//futures:tsk
func F(ctx context.Context) error { return nil }

//futures:task name="unterminated
func G(ctx context.Context) error { return nil }

// futures:task retries=1
func H(ctx context.Context) error { return nil }
