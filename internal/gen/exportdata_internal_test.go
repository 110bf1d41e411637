package gen

import (
	"bytes"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/tools/go/gcexportdata"
)

// TestExportData reads the export data of fmt from the compiler's archive
// that go list -export names (Go 1.26), and from export data alone, the
// format go list -export writes from Go 1.28 on; a file that is neither
// is an error, not a crash.
func TestExportData(t *testing.T) {
	out, err := exec.Command("go", "list", "-export", "-f", "{{.Export}}", "fmt").Output()
	if err != nil {
		t.Fatalf("go list -export fmt: %v", err)
	}
	archive, err := os.ReadFile(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	read := func(data []byte) (*types.Package, error) {
		r, err := exportData(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return gcexportdata.Read(r, token.NewFileSet(), map[string]*types.Package{}, "fmt")
	}
	pkg, err := read(archive)
	if err != nil || pkg.Scope().Lookup("Println") == nil {
		t.Fatalf("from the archive: %v, %v", pkg, err)
	}

	var alone bytes.Buffer
	if err := gcexportdata.Write(&alone, token.NewFileSet(), pkg); err != nil {
		t.Fatal(err)
	}
	if pkg, err := read(alone.Bytes()); err != nil || pkg.Scope().Lookup("Println") == nil {
		t.Fatalf("from export data alone: %v, %v", pkg, err)
	}

	for name, data := range map[string]string{
		"truncated header":      "!<arch>\n__.PKGDEF",
		"other first member":    "!<arch>\n" + strings.Repeat(" ", 60),
		"not an object file":    "!<arch>\n__.PKGDEF" + strings.Repeat(" ", 32) + "100       `\nELF\n",
		"unknown export data":   "!<arch>\n__.PKGDEF" + strings.Repeat(" ", 32) + "100       `\ngo object linux amd64\n$$X\n",
		"no export data":        "!<arch>\n__.PKGDEF" + strings.Repeat(" ", 32) + "25        `\ngo object linux amd64\nmore headers\n$$B\n",
		"header without an end": "!<arch>\n__.PKGDEF" + strings.Repeat(" ", 32) + "100       `\ngo object linux amd64",
	} {
		if _, err := read([]byte(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
