package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/spf13/pflag"

	"github.com/gofutures/futures/templates"
)

// futuresgenPkg is the import path of this command, as go get -tool and
// tool directives name it.
const futuresgenPkg = "github.com/gofutures/futures/cmd/futuresgen"

// fallbackGoVersion is the go directive of a new go.mod when the running
// toolchain's version is not a release's.
const fallbackGoVersion = "1.26"

// runInit is futuresgen init [flags] [dir]: it writes a starter service
// into dir from the embedded templates, and a go.mod when dir is in no
// module, or writes nothing and fails when any of those files exists.
func runInit(args []string, stdout, stderr io.Writer) int {
	flags := pflag.NewFlagSet("futuresgen init", pflag.ContinueOnError)
	flags.SetOutput(stderr)
	module := flags.String("module", "", "module path of the new go.mod when dir is in no module (default: dir's name)")
	replace := flags.String("replace", "", "for developing futures itself: the new go.mod requires futures from this `directory` (a replace directive) and has the futuresgen tool")
	usageOut := stderr
	flags.Usage = func() {
		stderr := usageOut
		fmt.Fprint(stderr, `usage: futuresgen init [flags] [dir]   (default ".")

Writes a starter service into dir: main.go (server.Run with a task loop),
views.go and tasks.go with annotated examples, views_test.go, and
templates/home.html. Inside a module the service is a package of it; in no
module, init also writes go.mod. It overwrites nothing: if any of these
files exists, it names them and writes nothing.

flags:
`)
		flags.SetOutput(stderr)
		flags.PrintDefaults()
	}
	args = longFlags(flags, args)
	if helpAsked(args) {
		usageOut = stdout
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "futuresgen init: %v\nRun futuresgen init -h for usage.\n", err)
		return exitError
	}
	if flags.NArg() > 1 {
		fmt.Fprintf(stderr, "futuresgen init: one directory at most, not %d\nRun futuresgen init -h for usage.\n", flags.NArg())
		return exitError
	}
	dir := "."
	if flags.NArg() == 1 {
		dir = filepath.Clean(flags.Arg(0))
	}
	if err := scaffold(dir, *module, *replace, stdout); err != nil {
		fmt.Fprintln(stderr, "futuresgen init:", err)
		return exitError
	}
	return exitOK
}

// scaffold does runInit's work.
func scaffold(dir, module, replace string, stdout io.Writer) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	data := templates.InitData{Name: filepath.Base(abs)}
	if !validElem(data.Name) {
		return fmt.Errorf("%q cannot name a Go package directory: use letters, digits and . _ - ~", data.Name)
	}

	root, mod, err := findModule(abs)
	if err != nil {
		return err
	}
	newModule := root == ""
	files := map[string][]byte{}
	if newModule {
		data.Module = module
		if data.Module == "" {
			data.Module = data.Name
		}
		if !validModulePath(data.Module) {
			return fmt.Errorf("%q is not a module path; give one with --module, such as example.com/%s", data.Module, data.Name)
		}
		data.Package = data.Module
		data.GoVersion = goDirective(runtime.Version())
		if replace != "" {
			r, err := filepath.Abs(replace)
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(r, "go.mod")); err != nil {
				return fmt.Errorf("--replace %s: no go.mod there: %w", replace, err)
			}
			data.Replace = modfileQuote(filepath.ToSlash(r))
		}
		gomod, err := execute("go.mod", templates.GoMod, data)
		if err != nil {
			return err
		}
		files["go.mod"] = gomod
	} else {
		switch {
		case module != "":
			return fmt.Errorf("--module applies to a new go.mod, but %s is in module %s (%s)", dir, mod.path, filepath.Join(root, "go.mod"))
		case replace != "":
			return fmt.Errorf("--replace applies to a new go.mod, but %s is in module %s (%s)", dir, mod.path, filepath.Join(root, "go.mod"))
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			return err
		}
		data.Module = mod.path
		data.Package = path.Join(mod.path, filepath.ToSlash(rel))
	}
	if err := render(files, data); err != nil {
		return err
	}

	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var existing []string
	for _, name := range names {
		if _, err := os.Lstat(filepath.Join(abs, filepath.FromSlash(name))); err == nil {
			existing = append(existing, filepath.Join(dir, filepath.FromSlash(name)))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if len(existing) > 0 {
		return fmt.Errorf("wrote nothing: these files exist already, and init overwrites nothing:\n\t%s", strings.Join(existing, "\n\t"))
	}
	for _, name := range names {
		if err := writeNew(filepath.Join(abs, filepath.FromSlash(name)), files[name]); err != nil {
			return err
		}
	}

	// The service is a command: its package clause says main, and the
	// import path, not a package name, is what tells it apart.
	fmt.Fprintf(stdout, "futuresgen init: wrote a starter service (package main, import path %s) in %s:\n", data.Package, dir)
	for _, name := range names {
		fmt.Fprintf(stdout, "\t%s\n", filepath.Join(dir, filepath.FromSlash(name)))
	}
	fmt.Fprintln(stdout, "\nNext:")
	if dir != "." {
		fmt.Fprintf(stdout, "\tcd %s\n", dir)
	}
	switch {
	case newModule && data.Replace != "":
		fmt.Fprintln(stdout, "\tgo mod tidy")
	case newModule || !mod.hasTool:
		// go get -tool adds the requirement on futures, the tool directive
		// that go tool futuresgen needs, and their go.sum lines.
		version := "@latest"
		if mod.path == "github.com/gofutures/futures" {
			version = "" // the main module has no versions to choose from
		}
		fmt.Fprintf(stdout, "\tgo get -tool %s%s\n", futuresgenPkg, version)
	}
	fmt.Fprintln(stdout, "\tgo generate ./...")
	fmt.Fprintln(stdout, "\tgo run .")
	return nil
}

// render executes the service's templates with data into files: a .tmpl
// file to its name without .tmpl, gofmt'd when it is Go; others as they
// are.
func render(files map[string][]byte, data templates.InitData) error {
	return fs.WalkDir(templates.Service, "service", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(templates.Service, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "service/")
		if strings.HasSuffix(name, ".tmpl") {
			name = strings.TrimSuffix(name, ".tmpl")
			if src, err = execute(name, string(src), data); err != nil {
				return err
			}
			if strings.HasSuffix(name, ".go") {
				if src, err = format.Source(src); err != nil {
					return fmt.Errorf("template %s: %w", p, err)
				}
			}
		}
		files[name] = src
		return nil
	})
}

// execute runs the text/template src, named name, with data.
func execute(name, src string, data templates.InitData) ([]byte, error) {
	t, err := template.New(name).Delims(templates.LeftDelim, templates.RightDelim).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// writeNew writes a file that must not exist, making its directory.
func writeNew(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// goMod is what init needs to know of an existing go.mod.
type goMod struct {
	path    string // the module path
	hasTool bool   // it has a tool directive for futuresgen
}

// findModule finds the go.mod of the module that dir is in, in dir or the
// nearest of its parents, and returns its directory and contents; a root
// of "" means dir is in no module.
func findModule(dir string) (root string, mod goMod, err error) {
	for d := dir; ; {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		switch {
		case err == nil:
			mod, err := parseGoMod(data)
			if err != nil {
				return "", goMod{}, fmt.Errorf("%s: %w", filepath.Join(d, "go.mod"), err)
			}
			return d, mod, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", goMod{}, err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", goMod{}, nil
		}
		d = parent
	}
}

// parseGoMod reads the module path and tool directives of a go.mod: the
// little of its grammar that init needs, so that futuresgen does not depend
// on golang.org/x/mod for it.
func parseGoMod(data []byte) (goMod, error) {
	var mod goMod
	inTool := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case inTool && fields[0] == ")":
			inTool = false
		case inTool:
			mod.hasTool = mod.hasTool || unquote(fields[0]) == futuresgenPkg
		case fields[0] == "module" && len(fields) == 2:
			mod.path = unquote(fields[1])
		case fields[0] == "tool" && len(fields) == 2 && fields[1] == "(":
			inTool = true
		case fields[0] == "tool" && len(fields) == 2:
			mod.hasTool = mod.hasTool || unquote(fields[1]) == futuresgenPkg
		}
	}
	if mod.path == "" {
		return goMod{}, errors.New("no module directive")
	}
	return mod, sc.Err()
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// modfileQuote quotes s for a go.mod when it needs quoting.
func modfileQuote(s string) string {
	if strings.ContainsAny(s, " \t\"'`\\") || s == "" {
		return strconv.Quote(s)
	}
	return s
}

// validElem reports whether s may be an element of an import path, so that
// the directory can hold a package: letters, digits and - . _ ~, not
// starting with a dot.
func validElem(s string) bool {
	if s == "" || s[0] == '.' || s[0] == '_' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

// validModulePath reports whether p is a plausible module path: valid
// elements separated by slashes.
func validModulePath(p string) bool {
	for elem := range strings.SplitSeq(p, "/") {
		if !validElem(elem) {
			return false
		}
	}
	return true
}

var releaseVersion = regexp.MustCompile(`^go(1\.\d+(?:\.\d+|rc\d+)?)$`)

// goDirective is the go directive for a new go.mod made by toolchain v (as
// runtime.Version reports it): its version, so that the service builds with
// the toolchain at hand, or fallbackGoVersion for a development toolchain.
func goDirective(v string) string {
	if m := releaseVersion.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return fallbackGoVersion
}
