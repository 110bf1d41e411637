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
