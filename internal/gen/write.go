package gen

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
