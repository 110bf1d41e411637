package view

// SupportsGeneratedCodeVersion1 exists in every version of this package
// that the code futuresgen writes for version 1 of its contract can use:
// the names listed under "For generated code" in the package doc. Every
// generated file that uses this package and not taskloop asserts it:
//
//	const _ = view.SupportsGeneratedCodeVersion1
//
// so that compiling generated code against a runtime that lacks what it
// calls fails on that line, with a name that says why. It is declared,
// and changes, together with taskloop.SupportsGeneratedCodeVersion1, which
// files that use taskloop assert instead.
const SupportsGeneratedCodeVersion1 = true
