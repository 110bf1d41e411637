module github.com/gofutures/futures/bench

go 1.26.8

require (
	github.com/alitto/pond/v2 v2.7.1
	github.com/danielgtaylor/huma/v2 v2.37.2
	github.com/go-resty/resty/v2 v2.17.2
	github.com/gofutures/futures v0.0.0
	github.com/panjf2000/ants/v2 v2.12.1
	github.com/reugn/async v0.10.0
	github.com/sourcegraph/conc v0.3.0
	golang.org/x/sync v0.25.0
)

require (
	github.com/dave/jennifer v1.7.1 // indirect
	github.com/spf13/pflag v1.1.0 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.9.0 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)

replace github.com/gofutures/futures => ../

tool github.com/gofutures/futures/cmd/futuresgen
