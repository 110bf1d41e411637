// Package depbudget holds no code: its test keeps the dependency budget of
// the core runtime. The packages that every user of futures builds
// (runtime/future, taskloop, view, server, httpclient and runtime's
// internal packages) import nothing but the standard library and this
// module, on every platform, so that a user who imports only them gets no
// third-party requirement. Tests may import more (goleak): the budget is
// about what users build. runtime/durable, which needs River and pgx, is a
// module of its own for that reason.
package depbudget
