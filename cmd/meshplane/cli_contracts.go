package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"connectrpc.com/connect"
	"github.com/goccy/go-yaml"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/contracts"
	"github.com/meshplane/meshplane/server/descriptor"
	"github.com/meshplane/meshplane/server/rpc"
)

// exportCmd writes a product as an ODPS document and its ports' ODCS
// contracts, each validated against the standard's schema.
func exportCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return failed("usage: meshplane export DOMAIN/NAME [--dir DIR] [--kafka-bootstrap HOST:PORT,…]")
	}
	name, rest := args[0], args[1:]
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c clientConfig
	c.register(fs, "")
	dir := fs.String("dir", "", "write <id>.odps.yaml and one <id>.odcs.yaml per port here instead of printing them")
	bootstrap := fs.String("kafka-bootstrap", "", "Kafka servers consumers connect to, written as the contracts' server")
	if err := fs.Parse(rest); err != nil {
		return exitCode{code: exitFailed}
	}
	dom, n, ok := strings.Cut(name, "/")
	if !ok {
		return failed("name the product as DOMAIN/NAME, got %q", name)
	}
	a, err := c.connect()
	if err != nil {
		return err
	}
	res, err := a.catalog.GetDataProduct(context.Background(), connect.NewRequest(&v1.GetDataProductRequest{Domain: dom, Name: n}))
	if err != nil {
		return failed("%s", message(err))
	}
	p := res.Msg.GetDataProduct()
	lc, ps := rpc.ProductOf(p)
	in := contracts.Product{Domain: dom, Name: n, Lifecycle: lc, Version: p.GetVersion(), Spec: ps}
	if *bootstrap != "" {
		in.Bootstrap = strings.Split(*bootstrap, ",")
	}
	docs, err := contracts.Export(in)
	if err != nil {
		return failed("%v", err)
	}
	type file struct {
		name string
		doc  any
	}
	files := []file{{docs.Product.ID + ".odps.yaml", docs.Product}}
	for _, c := range docs.Contracts {
		files = append(files, file{c.ID + ".odcs.yaml", c})
	}
	for i, f := range files {
		b, err := yaml.MarshalWithOptions(f.doc, yaml.IndentSequence(true))
		if err != nil {
			return err
		}
		if *dir == "" {
			if i > 0 {
				fmt.Fprintln(stdout, "---")
			}
			stdout.Write(b)
			continue
		}
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			return failed("%v", err)
		}
		if err := os.WriteFile(filepath.Join(*dir, f.name), b, 0o644); err != nil {
			return failed("%v", err)
		}
		fmt.Fprintln(stderr, "wrote", filepath.Join(*dir, f.name))
	}
	return nil
}

// importCmd reads an ODPS document and its ports' ODCS contracts and
// prints the product as a meshplane descriptor, to review and apply; what
// the documents hold that meshplane does not model is listed on stderr.
func importCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	odps := fs.String("odps", "", "the product's ODPS document (YAML or JSON)")
	var odcs fileList
	fs.Var(&odcs, "odcs", "an ODCS contract of one of its output ports (repeatable)")
	if err := fs.Parse(args); err != nil || *odps == "" {
		return failed("usage: meshplane import --odps FILE [--odcs FILE …]")
	}
	read := func(p string) ([]byte, error) {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.Size() > descriptor.MaxFileBytes {
			return nil, fmt.Errorf("%s is larger than %d bytes", p, descriptor.MaxFileBytes)
		}
		return os.ReadFile(p)
	}
	doc, err := read(*odps)
	if err != nil {
		return failed("%v", err)
	}
	cs := map[string][]byte{}
	for _, f := range odcs {
		if cs[f], err = read(f); err != nil {
			return failed("%v", err)
		}
	}
	im, err := contracts.Import(*odps, doc, cs)
	if err != nil {
		return failed("%v", err)
	}
	b, err := descriptor.Marshal(descriptor.Of(im.Domain, im.Name, im.Lifecycle, im.Spec))
	if err != nil {
		return err
	}
	stdout.Write(b)
	for _, r := range im.Report {
		fmt.Fprintln(stderr, "note:", r)
	}
	return nil
}
