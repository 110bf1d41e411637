package socket_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsNoWebSocket: runtime/socket brings coder/websocket into
// the root module, but the core runtime packages (and so every service
// that serves views without sockets) import nothing outside the standard
// library and this module.
func TestCoreImportsNoWebSocket(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const module = "github.com/gofutures/futures/"
	for _, pkg := range []string{"future", "taskloop", "view", "server", "httpclient"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+"runtime/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for dep := range strings.FieldsSeq(string(out)) {
			if !strings.HasPrefix(dep, module) {
				t.Errorf("runtime/%s depends on %s", pkg, dep)
			}
			if dep == module+"runtime/socket" {
				t.Errorf("runtime/%s imports runtime/socket", pkg)
			}
		}
	}
}
