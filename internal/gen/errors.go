package gen

import (
	"cmp"
	"fmt"
	"go/token"
	"slices"
	"strings"
)

// Error is a problem in the sources, at a position.
type Error struct {
	Pos token.Position
	Msg string

	// For Vet: the position in the file set, and an obvious correction,
	// when there is one (a misspelled option or directive name).
	at  token.Pos
	fix *edit
}

// edit replaces the text from pos to end with text.
type edit struct {
	pos, end token.Pos
	text     string
}

// suggest attaches the correction that replaces the n bytes at pos with
// text, and returns e.
func (e *Error) suggest(pos token.Pos, n int, text string) *Error {
	e.fix = &edit{pos: pos, end: pos + token.Pos(n), text: text}
	return e
}

// Error formats the problem as file:line:col: message, the form editors and
// CI logs turn into links, with the file relative to the working directory
// when it is under it, as the go command prints them.
func (e *Error) Error() string {
	if !e.Pos.IsValid() {
		return e.Msg
	}
	return fmt.Sprintf("%s: %s", positionString(e.Pos), e.Msg)
}

// ErrorList is every source problem found in one run, sorted by position.
// The generator reports them all at once and writes nothing.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sorted returns the list in file, line, column order without duplicates.
func (l ErrorList) sorted() ErrorList {
	s := slices.Clone(l)
	slices.SortStableFunc(s, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.Filename, b.Pos.Filename),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	return slices.CompactFunc(s, func(a, b *Error) bool { return a.Pos == b.Pos && a.Msg == b.Msg })
}

// errs collects errors and warnings positioned through a file set.
type errs struct {
	fset     *token.FileSet
	list     ErrorList
	warnings ErrorList
}

// add records an error at pos and returns it, for a correction to be
// attached.
func (e *errs) add(pos token.Pos, format string, args ...any) *Error {
	err := &Error{Pos: e.fset.Position(pos), Msg: fmt.Sprintf(format, args...), at: pos}
	e.list = append(e.list, err)
	return err
}

// warn records a warning: a problem that does not stop generation.
func (e *errs) warn(pos token.Pos, format string, args ...any) *Error {
	err := &Error{Pos: e.fset.Position(pos), Msg: "warning: " + fmt.Sprintf(format, args...), at: pos}
	e.warnings = append(e.warnings, err)
	return err
}

// positionString is pos as messages print it: file:line:col, the file
// relative to the working directory when it is under it.
func positionString(pos token.Position) string {
	if pos.Filename != "" {
		pos.Filename = relPath(pos.Filename)
	}
	return pos.String()
}

// parsePos reads go/packages' "file:line:col" error positions.
func parsePos(s string) token.Position {
	var pos token.Position
	if s == "" || s == "-" {
		return pos
	}
	parts := strings.Split(s, ":")
	// The file name may itself hold colons; line and column are the last two.
	n := len(parts)
	if n >= 3 {
		if line, col, ok := atoi2(parts[n-2], parts[n-1]); ok {
			return token.Position{Filename: strings.Join(parts[:n-2], ":"), Line: line, Column: col}
		}
	}
	if n >= 2 {
		if line, _, ok := atoi2(parts[n-1], "0"); ok {
			return token.Position{Filename: strings.Join(parts[:n-1], ":"), Line: line}
		}
	}
	return token.Position{Filename: s}
}

func atoi2(a, b string) (int, int, bool) {
	var x, y int
	if _, err := fmt.Sscanf(a+" "+b, "%d %d", &x, &y); err != nil {
		return 0, 0, false
	}
	return x, y, true
}
