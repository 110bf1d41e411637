// Command futuresgen generates the task wrappers, HTTP handlers and
// WebSocket handlers that //futures:task, //futures:view and
// //futures:socket directives ask for, and scaffolds new services.
//
//	futuresgen [flags] [packages]   default "."
//	futuresgen init [flags] [dir]   default "."
//
// Run it from go generate with
//
//	//go:generate go tool futuresgen
//
// and in CI with futuresgen --check ./..., which writes nothing, prints a
// unified diff of every stale, missing or orphaned generated file, and exits 1.
//
// Exit codes: 0 fine, 1 stale (with --check), 2 usage or source errors.
//
// Beside the generated file of a package with durable tasks, futuresgen
// writes futures.lock.json: each durable task's name and the JSON shape of
// its arguments, as jobs already queued hold them. A change that would
// break those jobs (a parameter removed, renamed or retyped, a task gone)
// is an error, unless --accept-breaking=TASK names the task, which rewrites
// its entry.
//
// Generated files are cached like builds, in futuresgen under the user's
// cache directory, keyed by everything they are made from; set
// FUTURESGEN_CACHE to another directory, or to off.
//
// # futuresgen init
//
// futuresgen init [dir] writes a starter service into dir (made if need
// be) from the templates embedded in package
// github.com/gofutures/futures/templates: main.go, which serves with
// runtime/server and a task loop and holds the //go:generate line; views.go
// with a view that binds a path parameter and answers JSON and one that
// renders an html/template; tasks.go with a task that the second view runs
// after its response; views_test.go; and templates/home.html. It never
// overwrites: if any of those files exists, it names every one and writes
// nothing (exit 2).
//
// Inside a module (a go.mod in dir or a parent) the service is a package
// of that module, and init leaves go.mod alone. In no module, init writes a
// go.mod whose module path is dir's name, or --module's. Either way it
// prints the commands to run next: go get -tool
// github.com/gofutures/futures/cmd/futuresgen@latest when the module does
// not have the tool yet, then go generate ./... and go run .
//
// --replace DIR is for developing futures itself: the new go.mod then
// requires github.com/gofutures/futures from the checkout in DIR (a replace
// directive) and lists the futuresgen tool, so that the service builds from
// that checkout without fetching futures.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gofutures/futures/internal/gen"
)

const (
	exitOK    = 0
	exitStale = 1
	exitError = 2
)

func main() {
	// A short-lived process that allocates a lot while generating: collect
	// less often.
	debug.SetGCPercent(400)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The subcommands. A package directory named like one is still
	// reachable as ./help or ./version, as with the go command.
	if len(args) > 0 {
		switch args[0] {
		case "init":
			return runInit(args[1:], stdout, stderr)
		case "help":
			switch {
			case len(args) == 1:
				args = []string{"--help"}
			case len(args) == 2 && args[1] == "init":
				return runInit([]string{"--help"}, stdout, stderr)
			default:
				fmt.Fprintf(stderr, "futuresgen help: no help on %q; try futuresgen help or futuresgen help init\n", strings.Join(args[1:], " "))
				return exitError
			}
		case "version":
			if len(args) > 1 {
				fmt.Fprintf(stderr, "futuresgen version: takes no arguments, not %q\n", strings.Join(args[1:], " "))
				return exitError
			}
			args = []string{"--version"}
		}
	}
	flags := pflag.NewFlagSet("futuresgen", pflag.ContinueOnError)
	flags.SetOutput(stderr)
	output := flags.StringP("output", "o", gen.DefaultOutput, "generated file name")
	check := flags.Bool("check", false, "write nothing; exit 1 and print a diff if any generated file is stale, missing or orphaned")
	tags := flags.String("tags", "", "comma-separated build tags")
	accept := flags.StringSlice("accept-breaking", nil, "names of durable tasks whose arguments may change in a way that breaks jobs already queued: their entries in "+gen.LockFile+" are rewritten (comma-separated, or the flag repeated)")
	verbose := flags.BoolP("verbose", "v", false, "print a line per package with what was done and how long it took")
	version := flags.Bool("version", false, "print the version and exit")
	usageOut := stderr
	flags.Usage = func() {
		stderr := usageOut
		fmt.Fprint(stderr, `usage: futuresgen [flags] [packages]   (default ".")
       futuresgen init [flags] [dir]   (default "."; see futuresgen init -h)

Generates typed wrappers for //futures:task, //futures:view and
//futures:socket functions; init scaffolds a starter service.

flags:
`)
		flags.SetOutput(stderr)
		flags.PrintDefaults()
		fmt.Fprint(stderr, "\nexit status: 0 fine, 1 stale (with --check), 2 usage or source errors\n")
	}
	args = longFlags(flags, args)
	if helpAsked(args) {
		usageOut = stdout // asked for, help is output, not a complaint
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "futuresgen: %v\nRun futuresgen -h for usage.\n", err)
		return exitError
	}
	if *version {
		fmt.Fprintln(stdout, "futuresgen", buildVersion())
		return exitOK
	}
	cfg := gen.Config{
		Patterns:       flags.Args(),
		Output:         *output,
		Check:          *check,
		AcceptBreaking: *accept,
	}
	if *tags != "" {
		cfg.Tags = strings.Split(*tags, ",")
	}
	if *verbose {
		cfg.Log = stderr
	}
	cfg.CacheDir = cacheDir()
	res, err := gen.Run(ctx, cfg)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(stderr, w)
		}
	}
	var list gen.ErrorList
	switch {
	case errors.As(err, &list):
		fmt.Fprintln(stderr, list)
		fmt.Fprintf(stderr, "futuresgen: %d error(s); nothing written\n", len(list))
		return exitError
	case errors.Is(err, gen.ErrStale):
		for _, c := range res.Changes {
			fmt.Fprint(stdout, c.Diff)
		}
		fmt.Fprintf(stderr, "futuresgen: %d generated file(s) stale, missing or orphaned; run %s\n", len(res.Changes), fixCommand(args, flags.Args(), res))
		return exitStale
	case err != nil:
		fmt.Fprintln(stderr, "futuresgen:", err)
		return exitError
	}
	return exitOK
}

// longFlags rewrites -name, a long flag written with one dash as the go
// command and the flag package accept, to --name, which pflag wants (it
// reads -version as the shorthands -v -e -r …). Only names of long flags
// are rewritten, so a shorthand with its value (-ofile.go) stays as it is;
// arguments after -- are left alone.
func longFlags(flags *pflag.FlagSet, args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && flags.Lookup(name) != nil {
				out[i] = "-" + a
			}
		}
	}
	return out
}

// helpAsked reports whether args ask for help (-h or --help before any --).
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--help", "-help":
			return true
		}
	}
	return false
}

// fixCommand is the command that brings the stale files of res up to date:
// go generate when every stale package has a //go:generate line that runs
// futuresgen, else futuresgen itself (go tool futuresgen when the module
// lists it as a tool), with the same flags and packages as this run but
// --check.
func fixCommand(args, patterns []string, res *gen.Result) string {
	if !slices.ContainsFunc(res.Changes, func(c gen.Change) bool { return !c.GoGenerate }) {
		return strings.Join(append([]string{"go", "generate"}, patterns...), " ")
	}
	cmd := []string{"futuresgen"}
	if res.Tool {
		cmd = []string{"go", "tool", "futuresgen"}
	}
	for _, a := range args {
		if a != "--check" && a != "-check" && a != "--check=true" && a != "-check=true" {
			cmd = append(cmd, a)
		}
	}
	return strings.Join(cmd, " ")
}

// cacheDir is where generated files are cached: $FUTURESGEN_CACHE, or
// futuresgen in the user's cache directory; FUTURESGEN_CACHE=off turns the
// cache off.
func cacheDir() string {
	switch dir := os.Getenv("FUTURESGEN_CACHE"); dir {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "futuresgen")
	default:
		return dir
	}
}

// buildVersion is the module version futuresgen was built from.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
