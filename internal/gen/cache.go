package gen

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/tools/go/packages"
)

// genCache keeps each package's generated files under a key of everything
// they are made from, as the go command caches builds. A nil *genCache is
// the disabled cache: it misses and stores nothing.
//
// The key covers: this program (its Go build ID, or else its executable's
// bytes), the flags that shape output, the package's path, name and Go
// version, the name and bytes of each of its files but the generated ones,
// for each direct import either the key of that package (when it is a
// candidate too) or its export data file (whose name go list derives from
// its content), and the names every candidate will generate (they decide
// which type errors are tolerated). A package whose key cannot be
// computed, or that had errors, is never cached.
type genCache struct {
	dir  string
	tool string
}

// toolID identifies this program's build: the Go build ID that the linker
// writes into an ELF executable (a hash of its inputs and content), or
// else a hash of the whole file, which costs tens of milliseconds on a
// large binary.
var toolID = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := os.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	if id := goBuildID(f); id != "" {
		return "buildid " + id
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ""
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
})

// goBuildID reads the Go build ID from an ELF executable's
// .note.go.buildid note (as go tool buildid does), or returns "".
func goBuildID(r io.ReaderAt) string {
	ef, err := elf.NewFile(r)
	if err != nil {
		return ""
	}
	sec := ef.Section(".note.go.buildid")
	if sec == nil {
		return ""
	}
	data, err := sec.Data()
	if err != nil || len(data) < 16 {
		return ""
	}
	// A note: name size, description size, type, then the name ("Go"
	// padded to 4 bytes) and the description, the build ID.
	order := ef.ByteOrder
	nameSize, descSize := order.Uint32(data), order.Uint32(data[4:])
	start := 12 + (nameSize+3)&^3
	if uint32(len(data)) < start+descSize || !bytes.HasPrefix(data[12:], []byte("Go\x00")) {
		return ""
	}
	return string(data[start : start+descSize])
}

// openCache returns the cache in dir, or nil when dir is "" or this
// program cannot identify itself.
func openCache(dir string) *genCache {
	if dir == "" {
		return nil
	}
	tool := toolID()
	if tool == "" {
		return nil
	}
	return &genCache{dir: dir, tool: tool}
}

// keys computes the key of every plan; "" means not cacheable.
func (c *genCache) keys(plans []*plan, cfg *Config, gen *generated, lc *lockCtx) map[string]string {
	if c == nil {
		return nil
	}
	byPath := map[string]*plan{}
	for _, p := range plans {
		byPath[p.path] = p
	}
	names := sha256.New()
	for _, m := range []map[string]map[string]bool{gen.funcs, gen.methods} {
		for _, owner := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(names, "%s:%s\n", owner, strings.Join(slices.Sorted(maps.Keys(m[owner])), ","))
		}
	}
	namesSum := hex.EncodeToString(names.Sum(nil))

	keys := map[string]string{}
	depKeys := map[*packages.Package]string{}
	var key func(p *plan) string
	// depKey identifies what a dependency contributes to the types seen:
	// a candidate's key, the export data go list built, or, for a package
	// that does not build yet and is checked from source, its files and
	// its own dependencies'.
	var depKey func(dep *packages.Package) string
	depKey = func(dep *packages.Package) string {
		if k, done := depKeys[dep]; done {
			return k
		}
		depKeys[dep] = ""
		var k string
		switch p := byPath[dep.PkgPath]; {
		case p != nil && p.pkg == dep:
			k = key(p)
		case dep.PkgPath == "unsafe" || dep.PkgPath == "C":
			k = dep.PkgPath
		case dep.ExportFile != "":
			k = "export " + dep.ExportFile
		default:
			h := sha256.New()
			for _, name := range dep.CompiledGoFiles {
				src, err := os.ReadFile(name)
				if err != nil {
					return ""
				}
				fmt.Fprintf(h, "source %s %x\n", name, sha256.Sum256(src))
			}
			for _, path := range slices.Sorted(maps.Keys(dep.Imports)) {
				dk := depKey(dep.Imports[path])
				if dk == "" {
					return ""
				}
				fmt.Fprintf(h, "import %s %s\n", path, dk)
			}
			k = "source " + hex.EncodeToString(h.Sum(nil))
		}
		depKeys[dep] = k
		return k
	}
	key = func(p *plan) string {
		if k, done := keys[p.path]; done {
			return k
		}
		keys[p.path] = "" // not cacheable until proven otherwise
		h := sha256.New()
		line := func(format string, args ...any) { fmt.Fprintf(h, format+"\n", args...) }
		line("futuresgen cache 4 %s", c.tool)
		line("output %s tags %s names %s", cfg.Output, strings.Join(cfg.Tags, ","), namesSum)
		pkg := p.pkg
		goVersion := ""
		if pkg.Module != nil {
			goVersion = pkg.Module.GoVersion
		}
		line("package %s %s go%s dir %s", p.path, p.name, goVersion, p.dir)
		for _, name := range slices.Sorted(slices.Values(pkg.GoFiles)) {
			if !slices.Contains(p.generated, name) {
				line("gofile %s", name) // they decide what output would overwrite
			}
		}
		for _, name := range p.otherJSON {
			line("json %s", name) // a document must not overwrite them
		}
		for _, name := range slices.Sorted(slices.Values(p.excluded)) {
			line("excluded %s", name) // their directives' sources are among the sources
		}
		// The lock is an input too: the changes it refuses, the optional
		// parameters it marks. So are the breaks the user accepts, and
		// which of its tasks moved to another package of the run.
		line("lock %x", sha256.Sum256(p.lockData))
		line("accept %s", strings.Join(slices.Sorted(maps.Keys(lc.accept)), ","))
		if old, err := readLock(p.lockData); err == nil {
			for _, name := range slices.Sorted(maps.Keys(old.Tasks)) {
				if owner := lc.owner[name]; owner != "" && owner != p.path {
					line("moved %s %s", name, owner)
				}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(p.sources)) {
			line("source %s %x", name, sha256.Sum256(p.sources[name]))
		}
		// The imports of the files read, not go list's, which include what
		// the old generated file imports.
		imports := map[string]bool{}
		for _, f := range pkg.Syntax {
			for _, spec := range f.Imports {
				if path, err := strconv.Unquote(spec.Path.Value); err == nil {
					imports[path] = true
				}
			}
		}
		for _, path := range slices.Sorted(maps.Keys(imports)) {
			dep := pkg.Imports[path]
			if dep == nil {
				return ""
			}
			dk := depKey(dep)
			if dk == "" {
				return ""
			}
			line("import %s %s", path, dk)
		}
		// A client is made of the views of the package it names: their
		// directives and doc comments (its view sites, from its syntax),
		// and its types.
		if c := p.client; c != nil {
			line("client %s found %t", c.target, c.found)
			if c.listed != nil {
				dk := depKey(c.listed)
				if dk == "" {
					return ""
				}
				line("client package %s", dk)
			}
			for _, s := range c.sites {
				line("client view %q %q %q %q %q", s.Recv, s.Func, s.Directive, s.Doc, s.Pos)
			}
		}
		k := hex.EncodeToString(h.Sum(nil))
		keys[p.path] = k
		return k
	}
	for _, p := range plans {
		key(p)
	}
	return keys
}

func (c *genCache) file(key string) string { return filepath.Join(c.dir, key[:2], key) }

// get returns the generated files stored under key.
func (c *genCache) get(key string) (map[string][]byte, bool) {
	if c == nil || key == "" {
		return nil, false
	}
	data, err := os.ReadFile(c.file(key))
	if err != nil {
		return nil, false
	}
	return decodeEntry(data)
}

// put stores files under key. Failing to write the cache is not an error:
// the next run generates again.
func (c *genCache) put(key string, files map[string][]byte) {
	if c == nil || key == "" {
		return
	}
	data := encodeEntry(files)
	if data == nil || os.MkdirAll(filepath.Dir(c.file(key)), 0o755) != nil {
		return
	}
	_ = writeAtomic(c.file(key), data)
}

// entryMagic starts every cache entry. An entry is the magic, then for each
// file, in name order, its name, a newline, its length in decimal, a
// newline and its bytes. Unlike JSON, whose base64 decoding of a package's
// files was a fifth of a rerun's own CPU time, it reads at memory speed.
const entryMagic = "futuresgen cache entry 2\n"

// encodeEntry returns nil when a name cannot be stored: empty, or with a
// newline in it.
func encodeEntry(files map[string][]byte) []byte {
	n := len(entryMagic)
	for name, data := range files {
		if name == "" || strings.Contains(name, "\n") {
			return nil
		}
		n += len(name) + len(data) + 24
	}
	buf := make([]byte, 0, n)
	buf = append(buf, entryMagic...)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		buf = append(buf, name...)
		buf = append(buf, '\n')
		buf = strconv.AppendInt(buf, int64(len(files[name])), 10)
		buf = append(buf, '\n')
		buf = append(buf, files[name]...)
	}
	return buf
}

// decodeEntry reads what encodeEntry wrote; anything else, such as a
// truncated file, an entry of an older format or names out of order, is
// a miss.
func decodeEntry(data []byte) (map[string][]byte, bool) {
	rest, ok := bytes.CutPrefix(data, []byte(entryMagic))
	if !ok {
		return nil, false
	}
	files := map[string][]byte{}
	prev := ""
	for len(rest) > 0 {
		name, after, ok := bytes.Cut(rest, []byte{'\n'})
		if !ok || len(name) == 0 {
			return nil, false
		}
		size, after, ok := bytes.Cut(after, []byte{'\n'})
		if !ok {
			return nil, false
		}
		n, err := strconv.Atoi(string(size))
		if err != nil || n < 0 || n > len(after) || string(size) != strconv.Itoa(n) {
			return nil, false
		}
		if string(name) <= prev { // out of order, or twice
			return nil, false
		}
		prev = string(name)
		files[prev] = after[:n:n]
		rest = after[n:]
	}
	return files, true
}
