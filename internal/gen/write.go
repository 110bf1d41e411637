package gen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// apply brings a package's generated files in line with files (base name →
// content): it writes what differs and removes generated files that are no
// longer wanted. In check mode it only reports what it would do.
func apply(p *plan, files map[string][]byte, check bool) ([]Change, error) {
	var changes []Change
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(p.dir, name)
		want := files[name]
		have, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return changes, err
		}
		if err == nil && bytes.Equal(have, want) {
			continue // leave the file and its modification time alone
		}
		c := Change{Path: path}
		if check {
			c.Diff = unifiedDiff(relPath(path), have, want)
		}
		changes = append(changes, c)
		if !check {
			if err := writeAtomic(path, want); err != nil {
				return changes, err
			}
		}
	}
	for _, old := range p.generated {
		if _, wanted := files[filepath.Base(old)]; wanted && filepath.Dir(old) == p.dir {
			continue
		}
		have, err := os.ReadFile(old)
		if err != nil {
			return changes, err
		}
		c := Change{Path: old, Removed: true}
		if check {
			c.Diff = unifiedDiff(relPath(old), have, nil)
		}
		changes = append(changes, c)
		if !check {
			if err := os.Remove(old); err != nil {
				return changes, err
			}
		}
	}
	return changes, nil
}

// relPath shortens path for diff labels when it is under the working
// directory.
func relPath(path string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, path); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(path)
}

// writeAtomic replaces path with data through a temporary file in the same
// directory and a rename, so that readers (and go build) never see half a
// file.
func writeAtomic(path string, data []byte) (err error) {
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// logf writes a line of Config.Log, when there is one.
func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// describe is a package's line in Config.Log: what it holds, whether it
// came from the cache, and what was written, removed, or found stale.
func describe(p *plan, changes []Change, check bool) string {
	tasks, views := 0, 0
	for _, d := range p.decls {
		if d.kind == "task" {
			tasks++
		} else {
			views++
		}
	}
	what := fmt.Sprintf("%d task(s), %d view(s)", tasks, views)
	if p.cached != nil {
		what += " (cached)"
	}
	if len(changes) == 0 {
		return what + ", up to date"
	}
	var parts []string
	for _, c := range changes {
		verb := "wrote"
		switch {
		case check && c.Removed:
			verb = "orphaned"
		case check:
			verb = "stale"
		case c.Removed:
			verb = "removed"
		}
		parts = append(parts, verb+" "+filepath.Base(c.Path))
	}
	return what + ", " + strings.Join(parts, ", ")
}

// futuresModule is the module of the runtime that generated code imports.
const futuresModule = "github.com/gofutures/futures"

// moduleFacts reads what the runs need from the go.mod files of the
// candidates' modules, once each.
type moduleFacts struct {
	env     []string
	byGoMod map[string]*goModFacts
	warned  map[string]bool
}

// goModFacts are what a go.mod says about futures: whether it requires
// the module, and lists futuresgen as a tool.
type goModFacts struct {
	requires, tool bool
	read           bool // false when go.mod could not be read
}

func (m *moduleFacts) facts(mod *listedModule) *goModFacts {
	if mod == nil || mod.GoMod == "" {
		return nil
	}
	if f, ok := m.byGoMod[mod.GoMod]; ok {
		return f
	}
	f := &goModFacts{}
	if data, err := os.ReadFile(mod.GoMod); err == nil {
		f.read = true
		f.requires, f.tool = readGoMod(data)
	}
	m.byGoMod[mod.GoMod] = f
	return f
}

// tool reports whether mod's go.mod lists futuresgen as a tool.
func (m *moduleFacts) tool(mod *listedModule) bool {
	f := m.facts(mod)
	return f != nil && f.tool
}

// warning says, once per module, that mod does not require futures,
// whose runtime the generated code imports; nil when it does, or when
// that cannot be told: in futures itself, without a go.mod, or in a
// workspace, whose go.work may provide futures.
func (m *moduleFacts) warning(mod *listedModule) *Error {
	f := m.facts(mod)
	if f == nil || !f.read || f.requires || mod.Path == futuresModule || m.warned[mod.Path] || inWorkspace(m.env, filepath.Dir(mod.GoMod)) {
		return nil
	}
	if m.warned == nil {
		m.warned = map[string]bool{}
	}
	m.warned[mod.Path] = true
	return &Error{Msg: fmt.Sprintf("warning: the generated code imports %s/runtime, which %s does not require (%s): run go get %s",
		futuresModule, mod.Path, relPath(mod.GoMod), futuresModule)}
}

// readGoMod reads whether a go.mod requires futures and lists futuresgen
// as a tool, line by line as the go command writes them: single
// directives and blocks, with comments.
func readGoMod(data []byte) (requires, tool bool) {
	block := ""
	for line := range strings.SplitSeq(string(data), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			continue
		case block != "" && fields[0] == ")":
			block = ""
			continue
		case block == "" && len(fields) == 2 && fields[1] == "(":
			block = fields[0]
			continue
		}
		verb := block
		if block == "" {
			verb, fields = fields[0], fields[1:]
		}
		if len(fields) == 0 {
			continue
		}
		switch {
		case verb == "require" && strings.Trim(fields[0], `"`) == futuresModule:
			requires = true
		case verb == "tool" && strings.Trim(fields[0], `"`) == futuresModule+"/cmd/futuresgen":
			tool = true
		}
	}
	return requires, tool
}

// inWorkspace reports whether the go command, run in dir with env, uses a
// go.work file: GOWORK names one, or, unless it is off, one is in dir or a
// parent.
func inWorkspace(env []string, dir string) bool {
	if env == nil {
		env = os.Environ()
	}
	gowork := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOWORK="); ok {
			gowork = v
		}
	}
	switch gowork {
	case "off":
		return false
	case "", "auto":
	default:
		return true
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}
