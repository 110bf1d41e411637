package gen

// Import paths of the runtime packages that generated code calls.
const (
	pathContext  = "context"
	pathErrors   = "errors"
	pathHTTP     = "net/http"
	pathTime     = "time"
	pathFuture   = "github.com/gofutures/futures/runtime/future"
	pathTaskloop = "github.com/gofutures/futures/runtime/taskloop"
	pathView     = "github.com/gofutures/futures/runtime/view"
)
