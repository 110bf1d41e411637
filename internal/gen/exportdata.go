package gen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// exportData returns the export data that gcexportdata.Read reads, from a
// file that go list -export names. Up to Go 1.27 that file is the
// compiler's archive, whose first member, __.PKGDEF, holds an object
// header, the line "$$B", the export data and the end-of-section marker
// "\n$$\n"; from Go 1.28, go list -export writes export data alone, which
// is returned as it is. gcexportdata.NewReader used to do this, but is
// deprecated: it stops reading archives in Go 1.29.
func exportData(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	const magic = "!<arch>\n"
	if head, _ := br.Peek(len(magic)); string(head) != magic {
		return br, nil
	}
	br.Discard(len(magic))
	// The member's header: name, date, owner, group, mode, size, "`\n".
	var hdr [60]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("archive member header: %w", err)
	}
	if name := strings.TrimSpace(string(hdr[:16])); name != "__.PKGDEF" {
		return nil, fmt.Errorf("archive's first member is %q, not __.PKGDEF", name)
	}
	size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("archive member size: %w", err)
	}
	// The object header: "go object GOOS GOARCH VERSION …" and more lines,
	// up to "$$B".
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, fmt.Errorf("object header: %w", err)
		}
		size -= int64(len(line))
		switch {
		case first && !strings.HasPrefix(string(line), "go object "):
			return nil, fmt.Errorf("not a Go object file: %q", line)
		case string(line) == "$$B\n":
			size -= int64(len("\n$$\n"))
			if size < 0 {
				return nil, errors.New("archive member shorter than its headers")
			}
			return io.LimitReader(br, size), nil
		case strings.HasPrefix(string(line), "$$"):
			return nil, fmt.Errorf("unknown export data header %q", line)
		case size < 0:
			return nil, errors.New("no export data in __.PKGDEF")
		}
	}
}
