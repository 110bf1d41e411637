// Package taskloop is a user package named like a runtime package.
package taskloop

// Job is a user type.
type Job struct{ ID int }
