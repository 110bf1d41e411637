package server

import (
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// maxLinks bounds the symbolic links followed to resolve one name, as
// Linux's 40 (a link to "." makes names of any depth).
const maxLinks = 40

// resolveLinks returns name with every symbolic link along it resolved,
// for a file system that can read links (os.DirFS, os.Root.FS); others,
// such as embed.FS, have none, and their names come back as given. It
// fails with fs.ErrNotExist when any element of the resolved name is a dot
// file or directory, when a link is absolute, climbs out of the file
// system, or is one of more than maxLinks: what a link leads to is refused
// just as asking for it by name is. os.Root keeps links from leaving the
// directory, but it follows them to .env and .git inside it.
//
// It costs an Lstat per element of the name (os.Root's Lstat walks the
// name from the root, so some ten syscalls for a name of four elements).
func resolveLinks(fsys fs.FS, name string) (string, error) {
	rl, ok := fsys.(fs.ReadLinkFS)
	if !ok || name == "." {
		return name, nil
	}
	todo := strings.Split(name, "/")
	done := make([]string, 0, len(todo)) // resolved elements, none a link
	links := 0
	for len(todo) > 0 {
		elem := todo[0]
		todo = todo[1:]
		switch {
		case elem == "" || elem == ".":
			continue
		case elem == "..":
			// Only a link's target has these: fs.ValidPath names do not.
			if len(done) == 0 {
				return "", fs.ErrNotExist // out of the file system
			}
			done = done[:len(done)-1]
			continue
		case strings.HasPrefix(elem, "."):
			return "", fs.ErrNotExist
		}
		current := strings.Join(append(done, elem), "/")
		info, err := rl.Lstat(current)
		if err != nil {
			return "", notFound(err)
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			done = append(done, elem)
			continue
		}
		if links++; links > maxLinks {
			return "", fs.ErrNotExist
		}
		target, err := rl.ReadLink(current)
		if err != nil {
			return "", notFound(err)
		}
		target = filepath.ToSlash(target)
		if path.IsAbs(target) || filepath.IsAbs(target) || filepath.VolumeName(target) != "" {
			return "", fs.ErrNotExist
		}
		// The target is relative to the link's directory: done.
		todo = append(strings.Split(target, "/"), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return strings.Join(done, "/"), nil
}
