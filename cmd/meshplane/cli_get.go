package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/server/descriptor"
	"github.com/meshplane/meshplane/server/rpc"
)

// getCmd shows products: a table, JSON, or descriptors (-o yaml) that
// apply takes back as they are.
func getCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "schema" {
		return getSchema(args[1:], stdout, stderr)
	}
	if len(args) == 0 || (args[0] != "products" && args[0] != "product") {
		return failed("usage: meshplane get products [--domain D] [-o text|json|yaml] | product DOMAIN/NAME [-o yaml|json|text] | schema DOMAIN/NAME/PORT [--major N] [--format json-schema|avro]")
	}
	what := args[0]
	fs := flag.NewFlagSet("get "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c clientConfig
	c.register(fs, "text, json or yaml (descriptors)")
	domain := fs.String("domain", "", "only this domain's products")
	rest := args[1:]
	var name string
	if what == "product" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return failed("usage: meshplane get product DOMAIN/NAME [-o yaml|json|text]")
		}
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return exitCode{code: exitFailed}
	}
	a, err := c.connect()
	if err != nil {
		return err
	}
	ctx := context.Background()
	var products []*v1.DataProduct
	if what == "product" {
		dom, n, ok := strings.Cut(name, "/")
		if !ok {
			return failed("name the product as DOMAIN/NAME, got %q", name)
		}
		res, err := a.catalog.GetDataProduct(ctx, connect.NewRequest(&v1.GetDataProductRequest{Domain: dom, Name: n}))
		if err != nil {
			return failed("%s", message(err))
		}
		products = []*v1.DataProduct{res.Msg.GetDataProduct()}
		if c.output == "text" {
			c.output = "yaml"
		}
	} else {
		token := ""
		for {
			res, err := a.catalog.ListDataProducts(ctx, connect.NewRequest(&v1.ListDataProductsRequest{Domain: *domain, PageSize: 500, PageToken: token}))
			if err != nil {
				return failed("%s", message(err))
			}
			products = append(products, res.Msg.GetDataProducts()...)
			if token = res.Msg.GetNextPageToken(); token == "" {
				break
			}
		}
	}
	switch c.output {
	case "yaml":
		docs := make([]*descriptor.Document, len(products))
		for i, p := range products {
			lc, ps := rpc.ProductOf(p)
			docs[i] = descriptor.Of(p.GetDomain(), p.GetName(), lc, ps)
		}
		b, err := descriptor.Marshal(docs...)
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	case "json":
		fmt.Fprint(stdout, "[")
		for i, p := range products {
			if i > 0 {
				fmt.Fprint(stdout, ",")
			}
			b, err := protojson.Marshal(p)
			if err != nil {
				return err
			}
			stdout.Write(b)
		}
		fmt.Fprintln(stdout, "]")
		return nil
	case "text":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DOMAIN\tNAME\tLIFECYCLE\tHEALTH\tVERSION\tPORTS")
		for _, p := range products {
			lc, _ := rpc.ProductOf(p)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", p.GetDomain(), p.GetName(), lc,
				strings.ToLower(strings.TrimPrefix(p.GetHealth().String(), "DATA_PRODUCT_HEALTH_")), p.GetVersion(), len(p.GetPorts()))
		}
		return tw.Flush()
	}
	return failed("-o must be text, json or yaml, got %q", c.output)
}

// getSchema prints a port's schema as consumers receive its records.
func getSchema(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") || strings.Count(args[0], "/") != 2 {
		return failed("usage: meshplane get schema DOMAIN/NAME/PORT [--major N] [--format json-schema|avro]")
	}
	parts := strings.Split(args[0], "/")
	fs := flag.NewFlagSet("get schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c clientConfig
	c.register(fs, "")
	major := fs.Int("major", 0, "an earlier major the port keeps (default: the current one)")
	format := fs.String("format", "json-schema", "json-schema (the change events) or avro (their row)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitCode{code: exitFailed}
	}
	f, ok := map[string]v1.SchemaFormat{"json-schema": v1.SchemaFormat_SCHEMA_FORMAT_JSON_SCHEMA, "avro": v1.SchemaFormat_SCHEMA_FORMAT_AVRO}[*format]
	if !ok {
		return failed("--format must be json-schema or avro, got %q", *format)
	}
	a, err := c.connect()
	if err != nil {
		return err
	}
	res, err := a.catalog.GetPortSchema(context.Background(), connect.NewRequest(&v1.GetPortSchemaRequest{Domain: parts[0], Name: parts[1],
		Port: parts[2], Major: int32(*major), Format: f}))
	if err != nil {
		return failed("%s", message(err))
	}
	fmt.Fprintln(stdout, res.Msg.GetSchema())
	return nil
}
