package lang

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// FileSuffix is the suffix of runbook files.
const FileSuffix = ".nrun.hcl"

// Load reads a runbook: path is one .nrun.hcl file, or a directory whose
// .nrun.hcl files (sorted by name, not recursive) together form one
// runbook. It is an error when there is no such file.
func Load(path string) (*Runbook, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	info, err := os.Stat(path)
	if err != nil {
		return nil, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot read runbook",
			Detail:   fmt.Sprintf("%v. Pass a .nrun.hcl file or a directory that contains some.", err),
		})
	}
	var files []string
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, diags.Append(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read runbook directory",
				Detail:   fmt.Sprintf("%v. Check that the directory exists and is readable.", err),
			})
		}
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), FileSuffix) {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, diags.Append(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No runbook files",
				Detail:   fmt.Sprintf("The directory %s contains no %s files. Pass a runbook file, or a directory with at least one file named *%s.", path, FileSuffix, FileSuffix),
			})
		}
	} else {
		files = []string{path}
	}
	sources := make(map[string][]byte, len(files))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read runbook file",
				Detail:   fmt.Sprintf("%v. Check that the file exists and is readable.", err),
			})
			continue
		}
		sources[f] = src
	}
	if diags.HasErrors() {
		return nil, diags
	}
	rb, d := Parse(sources)
	return rb, append(diags, d...)
}

// Parse decodes runbook sources (file name to bytes) into the IR. Files
// are read in name order, so the result and its diagnostics are
// deterministic. Parse checks structure: the schema of every block, literal
// arguments (durations, order, on_failure, max_parallel, effect),
// duplicates, composite steps and step references. Types and the other
// references are checked by Validate. Parse never panics; on errors it
// still returns as much of the runbook as it could decode.
func Parse(sources map[string][]byte) (*Runbook, hcl.Diagnostics) {
	p := &parser{
		rb:    &Runbook{Files: map[string]*hcl.File{}},
		first: map[string]hcl.Range{},
	}
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		p.diags = append(p.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No runbook files",
			Detail:   "There is nothing to parse. Pass at least one " + FileSuffix + " file.",
		})
	}
	for _, name := range names {
		file, d := hclsyntax.ParseConfig(sources[name], name, hcl.InitialPos)
		p.diags = append(p.diags, d...)
		if file == nil {
			continue
		}
		p.rb.Files[name] = file
		body, ok := file.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		p.decodeFile(body)
	}
	p.resolveStepRefs()
	return p.rb, p.diags
}

// parser accumulates the runbook and diagnostics across files.
type parser struct {
	rb    *Runbook
	diags hcl.Diagnostics
	// first maps "kind name" to the first declaration, for duplicates.
	first map[string]hcl.Range
}

var fileSchema = bodySchema{
	Blocks: []blockSchema{
		{Type: "runbook", Labels: []string{"name"}},
		{Type: "variable", Labels: []string{"name"}},
		{Type: "locals"},
		{Type: "nomad"},
		{Type: "consul"},
		{Type: "backend", Labels: []string{"type"}},
		{Type: "terraform", Labels: []string{"name"}},
		{Type: "data", Labels: []string{"type", "name"}},
		{Type: "step", Labels: []string{"name"}},
		{Type: "output", Labels: []string{"name"}},
	},
}

func (p *parser) decodeFile(body *hclsyntax.Body) {
	c, d := decodeBody(body, fileSchema, "a runbook file", body.SrcRange)
	p.diags = append(p.diags, d...)
	for _, b := range c.Blocks {
		switch b.Type {
		case "runbook":
			m, d := decodeRunbookMeta(b)
			p.diags = append(p.diags, d...)
			if p.unique("runbook", "", "runbook block", blockDeclRange(b)) && m != nil {
				p.rb.Meta = m
			}
		case "variable":
			v, d := decodeVariable(b)
			p.diags = append(p.diags, d...)
			if v != nil && p.unique("variable", v.Name, "variable", v.DeclRange) {
				p.rb.Variables = append(p.rb.Variables, v)
			}
		case "locals":
			ls, d := decodeLocals(b)
			p.diags = append(p.diags, d...)
			for _, l := range ls {
				if p.unique("local", l.Name, "local value", l.DeclRange) {
					p.rb.Locals = append(p.rb.Locals, l)
				}
			}
		case "nomad":
			n, d := decodeNomad(b)
			p.diags = append(p.diags, d...)
			if p.unique("nomad", "", "nomad block", blockDeclRange(b)) {
				p.rb.Nomad = n
			}
		case "consul":
			n, d := decodeConsul(b)
			p.diags = append(p.diags, d...)
			if p.unique("consul", "", "consul block", blockDeclRange(b)) {
				p.rb.Consul = n
			}
		case "backend":
			be, d := decodeBackend(b)
			p.diags = append(p.diags, d...)
			if be != nil && p.unique("backend", "", "backend block", be.DeclRange) {
				p.rb.Backend = be
			}
		case "terraform":
			t, d := decodeTerraform(b)
			p.diags = append(p.diags, d...)
			if t != nil && p.unique("terraform", t.Name, "terraform block", t.DeclRange) {
				p.rb.Terraforms = append(p.rb.Terraforms, t)
			}
		case "data":
			ds, d := decodeDataSource(b)
			p.diags = append(p.diags, d...)
			if ds != nil && p.unique("data", string(ds.Type)+"."+ds.Name, "data source", ds.DeclRange) {
				p.rb.Data = append(p.rb.Data, ds)
			}
		case "step":
			s, d := decodeStep(b, nil)
			p.diags = append(p.diags, d...)
			if s != nil && p.unique("step", s.Name, "step", s.DeclRange) {
				p.rb.Steps = append(p.rb.Steps, s)
			}
		case "output":
			o, d := decodeOutput(b)
			p.diags = append(p.diags, d...)
			if o != nil && p.unique("output", o.Name, "output", o.DeclRange) {
				p.rb.Outputs = append(p.rb.Outputs, o)
			}
		}
	}
}

// unique records a declaration and reports a duplicate, pointing at the
// second one and naming the first in Detail.
func (p *parser) unique(kind, name, noun string, rng hcl.Range) bool {
	key := kind + " " + name
	if first, ok := p.first[key]; ok {
		p.diags = append(p.diags, duplicateDiag(noun, name, first, rng))
		return false
	}
	p.first[key] = rng
	return true
}

func duplicateDiag(noun, name string, first, second hcl.Range) *hcl.Diagnostic {
	article := "A"
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		article = "An"
	}
	what := article + " " + noun
	if name != "" {
		what = fmt.Sprintf("%s %s named %q", article, noun, name)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + noun,
		Detail:   fmt.Sprintf("%s was already declared at %s. Names must be unique; rename or remove one of them.", what, first.String()),
		Subject:  second.Ptr(),
	}
}

// hclsyntaxBody returns the block's body, which is never nil for blocks
// produced by the native parser.
func hclsyntaxBody(b *hclsyntax.Block) *hclsyntax.Body {
	if b.Body == nil {
		return &hclsyntax.Body{Attributes: hclsyntax.Attributes{}, SrcRange: b.OpenBraceRange, EndRange: b.CloseBraceRange}
	}
	return b.Body
}
