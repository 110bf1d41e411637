package taskloop

// SupportsGeneratedCodeVersion1 exists in every version of this package
// that the code futuresgen writes for version 1 of its contract can use:
// the names listed under "For generated code" in the package doc. Every
// generated file that uses this package asserts it:
//
//	const _ = taskloop.SupportsGeneratedCodeVersion1
//
// so that compiling generated code against a runtime that lacks what it
// calls fails on that line, with a name that says why, rather than on
// whichever name happens to be missing. A futuresgen that calls a name the
// contract did not have asserts version 2, and this package then declares
// SupportsGeneratedCodeVersion2 as well; a version's constant stays as long
// as code generated for it still compiles. Package view declares the same
// constants, for files that use view and not this package.
const SupportsGeneratedCodeVersion1 = true
