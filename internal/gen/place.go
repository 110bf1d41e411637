package gen

import (
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The place step, after the check: which generated file holds each checked
// unit and each registration, and none of them in the way of a file that
// futuresgen did not write.

// place decides the files of a checked package: which generated file
// holds each unit and each registration (placeFiles), and that none of
// them would overwrite a file that futuresgen did not write, in the build
// or not.
func (p *plan) place(e *errs, output string) {
	if len(p.units) == 0 && len(p.sites) == 0 && p.api == nil && p.client == nil {
		return
	}
	p.placeFiles(e, output)
	p.files[0].client = p.client
	if p.api != nil {
		p.files[0].api = p.api
		if p.api.out == output || slices.Contains(p.otherJSON, p.api.out) {
			e.add(p.api.decl.at(p.api.decl.dir.kindOff), "the OpenAPI document would overwrite %s, which futuresgen did not generate; choose another name with out=…", p.api.out)
		}
		if p.api.out == LockFile {
			e.add(p.api.decl.at(p.api.decl.dir.kindOff), "the OpenAPI document would take the name of the durable tasks' lock, %s; choose another name with out=…", LockFile)
		}
	}
	for _, f := range p.files {
		if slices.ContainsFunc(slices.Concat(p.pkg.GoFiles, p.excluded), func(src string) bool {
			return filepath.Base(src) == f.name && !slices.Contains(p.generated, src) && !isGeneratedFile(src)
		}) {
			at := p.pkgDecls[0].line.Slash
			if len(p.sites) > 0 {
				at = p.sites[0].at
			}
			e.add(at, "%s would overwrite %s, which futuresgen did not generate; rename it or choose another name with -o", p.path, f.name)
		}
	}
}

// isGeneratedFile reports whether the file at path starts with our header.
func isGeneratedFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(Header)+2)
	n, _ := io.ReadFull(f, head)
	return isGenerated(head[:n])
}

// placeFiles decides which generated file holds each task and each
// registration. Units declared in a file with build constraints go to a
// generated file with the same constraints; a registration lives with the
// declaration of its receiver type (the main file for functions), and
// units placed elsewhere join its list from their own file's init. The
// main file is the same whatever the build constraints: it holds the
// units of unconstrained files, and every registration of functions,
// including those whose units are all in constrained files.
func (p *plan) placeFiles(e *errs, output string) {
	main := &outFile{name: output}
	p.files = []*outFile{main}
	bySource := map[string]*outFile{}
	fileFor := func(src string, at token.Pos) *outFile {
		if of, ok := bySource[src]; ok {
			return of
		}
		of := main
		c, err := fileConstraint(p.sources[src], src)
		if err != nil {
			e.add(at, "reading the build constraint of %s: %v", filepath.Base(src), err)
		} else if c != "" {
			of = &outFile{name: strings.TrimSuffix(filepath.Base(src), ".go") + "_" + output, constraint: c}
			p.files = append(p.files, of)
		}
		bySource[src] = of
		return of
	}
	placed := map[unit]*outFile{}
	for _, u := range p.units {
		d := u.declOf()
		of := fileFor(d.filename, d.line.Slash)
		of.units = append(of.units, u)
		placed[u] = of
	}
	for _, r := range p.registrations() {
		home := main
		if r.recv != nil {
			home = fileFor(p.pkg.Fset.Position(r.recv.Obj().Pos()).Filename, r.recv.Obj().Pos())
		}
		parts := map[*outFile]*registration{}
		var order []*outFile
		for _, u := range r.units {
			of := placed[u]
			if parts[of] == nil {
				part := *r
				part.units = nil
				parts[of] = &part
				order = append(order, of)
			}
			parts[of].units = append(parts[of].units, u)
		}
		homePart := parts[home]
		if homePart == nil {
			homePart = &registration{kind: r.kind, recv: r.recv, funcName: r.funcName, listName: r.listName, at: r.at}
		}
		home.regs = append(home.regs, homePart)
		for _, of := range order {
			if of != home {
				of.appends = append(of.appends, parts[of])
			}
		}
	}
}
