// Package templates holds the files that futuresgen init writes: a starter
// service, embedded so that the futuresgen binary carries them.
//
// Service is the service's directory. A file whose name ends in .tmpl is a
// text/template with [[ and ]] as delimiters (Go code and html/template
// files are full of {{ and }}); futuresgen init executes it with an
// InitData and writes the result under the name without .tmpl. Any other
// file is written as it is. GoMod is the template of the go.mod that init
// writes when the directory is in no module.
package templates

import "embed"

// Service is the starter service: main.go, views.go, tasks.go and an HTML
// template, under "service".
//
//go:embed service
var Service embed.FS

// GoMod is the text/template of a new go.mod, executed with an InitData.
//
//go:embed go.mod.tmpl
var GoMod string

// Delims are the delimiters of the templates.
const (
	LeftDelim  = "[["
	RightDelim = "]]"
)

// InitData is what the templates are executed with.
type InitData struct {
	// Name is the service's name: the base name of its directory.
	Name string
	// Module is the path of the module the service belongs to.
	Module string
	// Package is the import path of the service's package.
	Package string
	// GoVersion is the go directive of a new go.mod, such as 1.26.8.
	GoVersion string
	// Replace, when set, is the directory of a futures checkout that a
	// new go.mod replaces github.com/gofutures/futures with (for developing
	// futures itself); the go.mod then requires it and the futuresgen tool.
	Replace string
}
