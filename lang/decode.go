package lang

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// bodySchema is the explicit schema of one block body. We decode the native
// syntax tree directly rather than through hcl.BodySchema because some
// blocks (precondition) take zero or one label, and because we want every
// diagnostic worded and ranged our way.
type bodySchema struct {
	Attrs  []attrSchema
	Blocks []blockSchema
}

type attrSchema struct {
	Name     string
	Required bool
	// Hidden keeps the name out of "allowed here" lists: it is accepted
	// only to be refused with a better message (token).
	Hidden bool
}

type blockSchema struct {
	Type string
	// Labels names the labels.
	Labels []string
	// LabelsOptional lets the block have no labels at all (precondition).
	LabelsOptional bool
}

type bodyContent struct {
	Attrs  map[string]*hcl.Attribute
	Blocks []*hclsyntax.Block
}

// attrRanges returns the range of every attribute in c (name = value), by
// name. The IR keeps it for attributes it decodes to plain Go values, so a
// later stage can point at an argument without the syntax tree.
func (c bodyContent) attrRanges() map[string]hcl.Range {
	out := make(map[string]hcl.Range, len(c.Attrs))
	for name, a := range c.Attrs {
		out[name] = a.Range
	}
	return out
}

// decodeBody checks body against schema: unknown arguments and blocks (with
// a suggestion), wrong label counts and missing required arguments are
// reported; known items are returned. what names the block for messages,
// e.g. `step "upgrade"`; decl is the block header range.
func decodeBody(body *hclsyntax.Body, schema bodySchema, what string, decl hcl.Range) (bodyContent, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	c := bodyContent{Attrs: map[string]*hcl.Attribute{}}
	if body == nil {
		return c, diags
	}
	attrNames := make([]string, 0, len(schema.Attrs))
	for _, a := range schema.Attrs {
		if !a.Hidden {
			attrNames = append(attrNames, a.Name)
		}
	}
	blockNames := make([]string, 0, len(schema.Blocks))
	for _, b := range schema.Blocks {
		blockNames = append(blockNames, b.Type)
	}

	for _, a := range sortedAttrs(body.Attributes) {
		if findAttrSchema(schema.Attrs, a.Name) == nil {
			detail := fmt.Sprintf("An argument named %q is not expected in %s.", a.Name, what)
			if findBlockSchema(schema.Blocks, a.Name) != nil {
				detail += fmt.Sprintf(" %q is a block; write it as %s { ... } without the equals sign.", a.Name, a.Name)
			} else {
				detail += suggestion(a.Name, attrNames)
				detail += allowedList("arguments", attrNames)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported argument",
				Detail:   detail,
				Subject:  a.NameRange.Ptr(),
				Context:  a.SrcRange.Ptr(),
			})
			continue
		}
		c.Attrs[a.Name] = a.AsHCLAttribute()
	}
	for _, a := range schema.Attrs {
		if a.Required && c.Attrs[a.Name] == nil && body.Attributes[a.Name] == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required argument",
				Detail:   fmt.Sprintf("The argument %q is required in %s. Add %s = ... to the block.", a.Name, what, a.Name),
				Subject:  decl.Ptr(),
			})
		}
	}
	for _, b := range body.Blocks {
		bs := findBlockSchema(schema.Blocks, b.Type)
		if bs == nil {
			detail := fmt.Sprintf("Blocks of type %q are not expected in %s.", b.Type, what)
			if findAttrSchema(schema.Attrs, b.Type) != nil {
				detail += fmt.Sprintf(" %q is an argument; write it as %s = value.", b.Type, b.Type)
			} else {
				detail += suggestion(b.Type, blockNames)
				detail += allowedList("blocks", blockNames)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported block type",
				Detail:   detail,
				Subject:  b.TypeRange.Ptr(),
				Context:  blockDeclRange(b).Ptr(),
			})
			continue
		}
		min := len(bs.Labels)
		if bs.LabelsOptional {
			min = 0
		}
		switch {
		case len(b.Labels) < min:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing block label",
				Detail:   fmt.Sprintf("A %s block needs %s: write %s.", b.Type, labelNoun(bs.Labels), blockUsage(bs)),
				Subject:  blockDeclRange(b).Ptr(),
			})
			continue
		case len(b.Labels) > len(bs.Labels):
			extra := b.LabelRanges[len(bs.Labels)]
			detail := fmt.Sprintf("A %s block takes %s: write %s.", b.Type, labelNoun(bs.Labels), blockUsage(bs))
			if len(bs.Labels) == 0 {
				detail = fmt.Sprintf("A %s block takes no labels: write %s { ... }.", b.Type, b.Type)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Extraneous block label",
				Detail:   detail,
				Subject:  extra.Ptr(),
				Context:  blockDeclRange(b).Ptr(),
			})
			continue
		}
		c.Blocks = append(c.Blocks, b)
	}
	return c, diags
}

func labelNoun(labels []string) string {
	if len(labels) == 0 {
		return "no labels"
	}
	if len(labels) == 1 {
		return "one label, its " + labels[0]
	}
	return fmt.Sprintf("%d labels (%s)", len(labels), strings.Join(labels, ", "))
}

func blockUsage(bs *blockSchema) string {
	s := bs.Type
	for _, l := range bs.Labels {
		s += fmt.Sprintf(" %q", strings.ToUpper(l))
	}
	return s + " { ... }"
}

func findAttrSchema(attrs []attrSchema, name string) *attrSchema {
	for i := range attrs {
		if attrs[i].Name == name {
			return &attrs[i]
		}
	}
	return nil
}

func findBlockSchema(blocks []blockSchema, name string) *blockSchema {
	for i := range blocks {
		if blocks[i].Type == name {
			return &blocks[i]
		}
	}
	return nil
}

// sortedAttrs returns the attributes in source order, so diagnostics come
// out deterministically.
func sortedAttrs(m hclsyntax.Attributes) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return rangeLess(out[i].SrcRange, out[j].SrcRange) })
	return out
}

func sortedHCLAttrs(m map[string]*hcl.Attribute) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return rangeLess(out[i].Range, out[j].Range) })
	return out
}

func rangeLess(a, b hcl.Range) bool {
	if a.Filename != b.Filename {
		return a.Filename < b.Filename
	}
	if a.Start.Byte != b.Start.Byte {
		return a.Start.Byte < b.Start.Byte
	}
	return a.End.Byte < b.End.Byte
}

// blockDeclRange is the block's header: type and labels.
func blockDeclRange(b *hclsyntax.Block) hcl.Range {
	if len(b.LabelRanges) == 0 {
		return b.TypeRange
	}
	return hcl.RangeBetween(b.TypeRange, b.LabelRanges[len(b.LabelRanges)-1])
}

// blockRange is the whole block, for Context.
func blockRange(b *hclsyntax.Block) hcl.Range {
	return hcl.RangeBetween(b.TypeRange, b.CloseBraceRange)
}

// suggestion returns ` Did you mean "x"?` for the nearest candidate within
// edit distance 2, as hcl and terraform do, or "".
func suggestion(given string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein(given, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func allowedList(noun string, names []string) string {
	if len(names) == 0 {
		return fmt.Sprintf(" This block takes no %s.", noun)
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	return fmt.Sprintf(" The %s allowed here are %s.", noun, quoteList(sorted))
}

// quoteListOr is quoteList joined with "or", for "one of" lists.
func quoteListOr(names []string) string {
	s := quoteList(names)
	if i := strings.LastIndex(s, " and "); i >= 0 {
		s = s[:i] + " or " + s[i+len(" and "):]
	}
	return s
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// levenshtein is the edit distance between a and b, over runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// staticValue evaluates an expression that must be a literal: no variables,
// no functions. It returns cty.NilVal when the expression is not constant or
// does not convert to want.
func staticValue(attr *hcl.Attribute, want cty.Type, what string) (cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	if vars := attr.Expr.Variables(); len(vars) > 0 {
		return cty.NilVal, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Variables not allowed",
			Detail:   fmt.Sprintf("The %s argument must be a literal value known before anything is evaluated; it cannot refer to %s. Write the value directly.", what, traversalString(vars[0])),
			Subject:  vars[0].SourceRange().Ptr(),
			Context:  attr.Range.Ptr(),
		})
	}
	v, d := attr.Expr.Value(nil)
	if d.HasErrors() {
		return cty.NilVal, d
	}
	if v.IsNull() {
		return cty.NilVal, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Null value not allowed",
			Detail:   fmt.Sprintf("The %s argument must not be null. Set a value or remove the argument.", what),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	cv, err := convert.Convert(v, want)
	if err != nil || !cv.IsWhollyKnown() {
		return cty.NilVal, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("The %s argument must be a %s, but this is a %s.", what, want.FriendlyName(), v.Type().FriendlyName()),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return cv, diags
}

func staticString(attr *hcl.Attribute, what string) (string, bool, hcl.Diagnostics) {
	v, diags := staticValue(attr, cty.String, what)
	if v == cty.NilVal {
		return "", false, diags
	}
	return v.AsString(), true, diags
}

func staticBool(attr *hcl.Attribute, what string) (bool, bool, hcl.Diagnostics) {
	v, diags := staticValue(attr, cty.Bool, what)
	if v == cty.NilVal {
		return false, false, diags
	}
	return v.True(), true, diags
}

// staticInt returns an integer in [lo, hi].
func staticInt(attr *hcl.Attribute, what string, lo, hi int) (int, bool, hcl.Diagnostics) {
	v, diags := staticValue(attr, cty.Number, what)
	if v == cty.NilVal {
		return 0, false, diags
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || i < int64(lo) || i > int64(hi) {
		return 0, false, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Invalid %s value", what),
			Detail:   fmt.Sprintf("The %s argument must be a whole number from %d to %d; %s is not.", what, lo, hi, bf.Text('g', -1)),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return int(i), true, diags
}

// staticDuration parses a literal duration; positive requires > 0.
func staticDuration(attr *hcl.Attribute, what string, positive bool) (time.Duration, bool, hcl.Diagnostics) {
	s, ok, diags := staticString(attr, what)
	if !ok {
		return 0, false, diags
	}
	d, err := ParseDuration(s)
	if err == nil && positive && d == 0 {
		err = fmt.Errorf("it must be longer than zero")
	}
	if err != nil {
		return 0, false, diags.Append(durationDiag(what, s, err, attr.Expr.Range()))
	}
	return d, true, diags
}

func durationDiag(what, s string, err error, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid duration",
		Detail:   fmt.Sprintf("The %s argument %q is not a valid duration: %v. Write a number followed by a unit, such as \"30s\", \"5m\", \"1h30m\" or \"2d\" (units: ms, s, m, h, d).", what, s, err),
		Subject:  rng.Ptr(),
	}
}

var dayPrefix = regexp.MustCompile(`^([0-9]+)d`)

// maxDays keeps day durations far from time.Duration's limit (about 292
// years).
const maxDays = 36500

// ParseDuration is time.ParseDuration plus a leading day unit ("2d",
// "1d12h"; a day is 24h). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("it is empty")
	}
	var total time.Duration
	if m := dayPrefix.FindStringSubmatch(s); m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > maxDays {
			return 0, fmt.Errorf("more than %d days", maxDays)
		}
		total = time.Duration(days) * 24 * time.Hour
		s = s[len(m[0]):]
		if s == "" {
			return total, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "time: "))
	}
	if d < 0 {
		return 0, fmt.Errorf("it is negative")
	}
	if total+d < total {
		return 0, fmt.Errorf("it is too long")
	}
	return total + d, nil
}

func traversalString(t hcl.Traversal) string {
	var b strings.Builder
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
				b.WriteString("[" + strconv.Quote(s.Key.AsString()) + "]")
			} else {
				b.WriteString("[...]")
			}
		default:
			b.WriteString("[*]")
		}
	}
	return b.String()
}
