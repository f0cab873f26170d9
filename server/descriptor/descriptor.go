// Package descriptor reads and writes data products as code: YAML
// documents of apiVersion meshplane.dev/v1, kind DataProduct, several to a
// file, a directory applied at once. Reading is strict — unknown fields,
// duplicate keys, anchors and aliases, wrong types and oversized files are
// refused with file:line:column — so what is applied is what was written.
package descriptor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/spec"
)

// APIVersion and Kind name the format.
const (
	APIVersion = "meshplane.dev/v1"
	Kind       = "DataProduct"
)

// Limits on what is read.
const (
	// MaxFileBytes bounds one descriptor file.
	MaxFileBytes = 4 << 20
	// MaxDocuments bounds the documents of one load, over every file.
	MaxDocuments = 10_000
)

// Document is one data product as code.
type Document struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`

	// File, Line and Column say where the document starts; they are not
	// part of the format.
	File   string `yaml:"-"`
	Line   int    `yaml:"-"`
	Column int    `yaml:"-"`
	// file is the parsed document, to place errors by field path.
	file *ast.DocumentNode
}

// Metadata names the product.
type Metadata struct {
	Domain string `yaml:"domain"`
	Name   string `yaml:"name"`
}

// Spec is the product: its lifecycle and everything the catalog's spec holds.
type Spec struct {
	// Lifecycle is draft (the default), active, deprecated or retired.
	Lifecycle    spec.Lifecycle `yaml:"lifecycle,omitempty"`
	spec.Product `yaml:",inline"`
}

// Key is domain/name.
func (d *Document) Key() string { return d.Metadata.Domain + "/" + d.Metadata.Name }

// Error is a problem at a place in a descriptor.
type Error struct {
	File         string
	Line, Column int
	// Path is the field at fault in the catalog's path format (spec.ports[0].name), when known.
	Path    string
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors are every problem found, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Parse reads the documents of one file's content.
func Parse(file string, data []byte) ([]*Document, error) {
	if len(data) > MaxFileBytes {
		return nil, Errors{{File: file, Message: fmt.Sprintf("is %d bytes, more than the %d a descriptor file may have", len(data), MaxFileBytes)}}
	}
	if !utf8.Valid(data) {
		return nil, Errors{{File: file, Message: "is not UTF-8 text"}}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Errors{yamlError(file, err)}
	}
	var errs Errors
	var out []*Document
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue // an empty document, e.g. after a trailing ---
		}
		if e := refuseReferences(file, doc); e != nil {
			errs = append(errs, e)
			continue
		}
		d := &Document{File: file, file: doc}
		if tk := doc.Body.GetToken(); tk != nil {
			d.Line, d.Column = tk.Position.Line, tk.Position.Column
		}
		if err := yaml.NodeToValue(doc.Body, d, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
			errs = append(errs, yamlError(file, err))
			continue
		}
		errs = append(errs, d.check()...)
		out = append(out, d)
	}
	if len(out)+len(errs) == 0 {
		errs = append(errs, &Error{File: file, Message: "holds no document"})
	}
	return out, errs.err()
}

// CheckYAML refuses a YAML text over MaxFileBytes or holding anchors,
// aliases or merge keys, before anything decodes it: documents received
// from others are read without expanding anything.
func CheckYAML(file string, data []byte) error {
	if len(data) > MaxFileBytes {
		return &Error{File: file, Message: fmt.Sprintf("is %d bytes, more than the %d a document may have", len(data), MaxFileBytes)}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return yamlError(file, err)
	}
	for _, doc := range f.Docs {
		if e := refuseReferences(file, doc); e != nil {
			return e
		}
	}
	return nil
}

// refuseReferences refuses anchors, aliases and merge keys: a descriptor
// says each thing where it applies, and an alias bomb expands nothing here.
func refuseReferences(file string, doc *ast.DocumentNode) *Error {
	var found *Error
	ast.Walk(visitor(func(n ast.Node) bool {
		if found != nil {
			return false
		}
		var what string
		switch n.(type) {
		case *ast.AnchorNode:
			what = "anchors (&name)"
		case *ast.AliasNode:
			what = "aliases (*name)"
		case *ast.MergeKeyNode:
			what = "merge keys (<<)"
		default:
			return true
		}
		tk := n.GetToken()
		found = &Error{File: file, Line: tk.Position.Line, Column: tk.Position.Column,
			Message: what + " are not allowed in descriptors: write each value where it applies"}
		return false
	}), doc)
	return found
}

type visitor func(ast.Node) bool

func (v visitor) Visit(n ast.Node) ast.Visitor {
	if v(n) {
		return v
	}
	return nil
}

// check refuses what decoding lets through: the wrong format, a missing
// name, a field only the catalog sets.
func (d *Document) check() Errors {
	var es Errors
	add := func(path, msg string) { es = append(es, d.errorAt(path, msg)) }
	if d.APIVersion != APIVersion {
		add("apiVersion", fmt.Sprintf("must be %s, got %q", APIVersion, d.APIVersion))
	}
	if d.Kind != Kind {
		add("kind", fmt.Sprintf("must be %s, got %q", Kind, d.Kind))
	}
	if d.Metadata.Domain == "" {
		add("metadata.domain", "is required")
	}
	if d.Metadata.Name == "" {
		add("metadata.name", "is required")
	}
	for i, p := range d.Spec.Ports {
		if p.Topic != "" {
			add(fmt.Sprintf("spec.ports[%d].topic", i), "is derived by meshplane (<domain>.<product>.<port>.v<major>): remove it")
		}
		if len(p.Retained) > 0 || p.BaseMajor != 0 {
			add(fmt.Sprintf("spec.ports[%d]", i), "retained and baseMajor are kept by meshplane (a new major retains the one before; RetirePortMajor ends it): remove them")
		}
	}
	if len(es) > 0 {
		return es
	}
	// The catalog's own checks, so a typo is shown at its line before
	// anything is sent; the server checks again, policies included.
	var v errs.Violations
	spec.CheckName(&v, "metadata.domain", d.Metadata.Domain)
	spec.CheckName(&v, "metadata.name", d.Metadata.Name)
	switch d.Spec.Lifecycle {
	case "", spec.LifecycleDraft, spec.LifecycleActive, spec.LifecycleDeprecated, spec.LifecycleRetired:
	default:
		v.Add("spec.lifecycle", "must be draft, active, deprecated or retired, got %q", d.Spec.Lifecycle)
	}
	p := d.Spec.Product
	p.Ports = slices.Clone(p.Ports)
	p.Sinks = slices.Clone(p.Sinks)
	p.Normalize(d.Metadata.Domain, d.Metadata.Name)
	p.Validate(&v, "spec")
	for _, f := range v.List() {
		add(f.Path, f.Message)
	}
	return es
}

// ErrorAt returns an error at the place of path (the catalog's field path,
// e.g. spec.ports[0].fields[2].name) in d, or at d itself when the path is
// not written there.
func (d *Document) ErrorAt(path, msg string) *Error { return d.errorAt(path, msg) }

func (d *Document) errorAt(path, msg string) *Error {
	e := &Error{File: d.File, Line: d.Line, Column: d.Column, Path: path, Message: msg}
	if d.file == nil || d.file.Body == nil {
		return e
	}
	// Walk up the path to the deepest part the document spells out.
	for p := path; p != ""; p = parent(p) {
		yp, err := yaml.PathString("$." + p)
		if err != nil {
			continue
		}
		n, err := yp.FilterNode(d.file.Body)
		if err != nil || n == nil {
			continue
		}
		if tk := n.GetToken(); tk != nil {
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
		return e
	}
	return e
}

// parent drops a path's last step: a.b[2].c → a.b[2] → a.b → a.
func parent(p string) string {
	if strings.HasSuffix(p, "]") {
		return p[:strings.LastIndex(p, "[")]
	}
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[:i]
	}
	return ""
}

func yamlError(file string, err error) *Error {
	e := &Error{File: file}
	// goccy/go-yaml errors print as "[line:col] message" followed by the
	// source; keep the position and the message's first line.
	msg := yaml.FormatError(err, false, false)
	if strings.HasPrefix(msg, "[") {
		if end := strings.Index(msg, "]"); end > 0 {
			fmt.Sscanf(msg[1:end], "%d:%d", &e.Line, &e.Column)
			msg = strings.TrimSpace(msg[end+1:])
		}
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if m := typeErr.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("is a %s, want %s", m[1], typeWords(m[2]))
	}
	e.Message = msg
	return e
}

// typeErr is the decoder's wording of a value of the wrong type.
var typeErr = regexp.MustCompile(`^cannot unmarshal (\S+) into Go (?:struct field \S+|value) of type (\S+)`)

func typeWords(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	}
	switch strings.TrimPrefix(goType[strings.LastIndex(goType, ".")+1:], "*") {
	case "Document", "Metadata", "Spec", "Product", "Source", "OutputPort", "Field", "Sink",
		"BigQuerySink", "S3Sink", "JDBCSink", "ElasticsearchSink":
		return "a mapping"
	}
	return "text"
}

// Load reads every *.yaml and *.yml file under path (or path itself when
// it is a file), in name order, and refuses a product described twice.
func Load(path string) ([]*Document, error) {
	files, err := descriptorFiles(path)
	if err != nil {
		return nil, err
	}
	var (
		docs []*Document
		errs Errors
		seen = map[string]*Document{}
	)
	for _, f := range files {
		data, err := readBounded(f)
		if err != nil {
			errs = append(errs, &Error{File: f, Message: err.Error()})
			continue
		}
		ds, err := Parse(f, data)
		var es Errors
		if errors.As(err, &es) {
			errs = append(errs, es...)
		} else if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if prev, dup := seen[d.Key()]; dup && d.Metadata.Domain != "" && d.Metadata.Name != "" {
				errs = append(errs, d.errorAt("metadata.name", fmt.Sprintf("product %s is described again: first at %s:%d", d.Key(), prev.File, prev.Line)))
				continue
			}
			seen[d.Key()] = d
			docs = append(docs, d)
		}
		if len(docs) > MaxDocuments {
			return nil, Errors{{File: f, Message: fmt.Sprintf("more than %d products in one apply", MaxDocuments)}}
		}
	}
	return docs, errs.err()
}

func descriptorFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != path && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("%s holds no .yaml or .yml file", path)
	}
	return files, err
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// Of returns the descriptor of a stored product: the spec as the catalog
// holds it, without what the catalog derives (topics).
func Of(domain, name string, lifecycle spec.Lifecycle, p spec.Product) *Document {
	p.Ports = slices.Clone(p.Ports)
	for i := range p.Ports {
		p.Ports[i].Topic, p.Ports[i].Retained, p.Ports[i].BaseMajor = "", nil, 0
	}
	return &Document{APIVersion: APIVersion, Kind: Kind, Metadata: Metadata{Domain: domain, Name: name},
		Spec: Spec{Lifecycle: lifecycle, Product: p}}
}

// Marshal writes documents as one YAML stream.
func Marshal(docs ...*Document) ([]byte, error) {
	var b bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			b.WriteString("---\n")
		}
		out, err := yaml.MarshalWithOptions(d, yaml.IndentSequence(true), yaml.UseLiteralStyleIfMultiline(true), yaml.OmitEmpty())
		if err != nil {
			return nil, err
		}
		b.Write(out)
	}
	return b.Bytes(), nil
}
