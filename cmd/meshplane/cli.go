package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
)

// exitCode ends the command with code, after what it printed; a message,
// when there is one, goes to stderr.
type exitCode struct {
	code int
	msg  string
}

func (e exitCode) Error() string { return e.msg }

// Exit codes of the client commands.
const (
	// exitChanges: diff found changes (not an error).
	exitChanges = 1
	// exitFailed: the command could not do what it was asked (invalid
	// descriptors, a refused write, an unreachable server).
	exitFailed = 2
)

// exit ends the process as err says: 0 for nil, an exitCode's code, 1 otherwise.
func exit(err error, stderr io.Writer) {
	if err == nil {
		os.Exit(0)
	}
	var ec exitCode
	if errors.As(err, &ec) {
		if ec.msg != "" {
			fmt.Fprintln(stderr, "meshplane:", ec.msg)
		}
		os.Exit(ec.code)
	}
	fmt.Fprintln(stderr, "meshplane:", err)
	os.Exit(1)
}

// failed is an exitFailed with a message.
func failed(format string, args ...any) error {
	return exitCode{code: exitFailed, msg: fmt.Sprintf(format, args...)}
}

// clientConfig is where a client command finds the server: flags, then
// MESHPLANE_URL and MESHPLANE_TOKEN, then the file login wrote.
type clientConfig struct {
	server string
	token  string
	caFile string
	output string
}

// savedLogin is the file login writes (0600).
type savedLogin struct {
	Server string `json:"server"`
	Token  string `json:"token"`
	CAFile string `json:"caFile,omitempty"`
}

func configPath() string {
	if p := os.Getenv("MESHPLANE_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "meshplane", "config.json")
}

func (c *clientConfig) register(fs *flag.FlagSet, outputs string) {
	fs.StringVar(&c.server, "server", os.Getenv("MESHPLANE_URL"), "meshplane's URL, e.g. https://meshplane.example.com (env MESHPLANE_URL)")
	fs.StringVar(&c.token, "token", "", "API token (env MESHPLANE_TOKEN; the file login wrote otherwise)")
	fs.StringVar(&c.caFile, "ca-file", os.Getenv("MESHPLANE_CA_FILE"), "PEM file of the CA that signed the server's certificate")
	if outputs != "" {
		fs.StringVar(&c.output, "o", "text", "output: "+outputs)
	}
}

// resolve fills what the flags left empty from the environment and the saved login.
func (c *clientConfig) resolve() error {
	if c.token == "" {
		c.token = os.Getenv("MESHPLANE_TOKEN")
	}
	if c.server == "" || c.token == "" {
		b, err := os.ReadFile(configPath())
		if err == nil {
			var s savedLogin
			if err := json.Unmarshal(b, &s); err != nil {
				return failed("%s is not a meshplane login file: %v", configPath(), err)
			}
			if c.server == "" {
				c.server = s.Server
			}
			if c.token == "" && (s.Server == c.server) {
				c.token = s.Token
			}
			if c.caFile == "" && s.Server == c.server {
				c.caFile = s.CAFile
			}
		}
	}
	if c.server == "" {
		return failed("no server: pass --server, set MESHPLANE_URL or run meshplane login")
	}
	if c.token == "" {
		return failed("no token for %s: pass --token, set MESHPLANE_TOKEN or run meshplane login", c.server)
	}
	c.server = strings.TrimSuffix(c.server, "/")
	return nil
}

// api are the Connect clients of one server.
type api struct {
	catalog   meshplanev1connect.CatalogServiceClient
	identity  meshplanev1connect.IdentityServiceClient
	policy    meshplanev1connect.PolicyServiceClient
	provision meshplanev1connect.ProvisioningServiceClient
	access    meshplanev1connect.AccessServiceClient
}

func (c *clientConfig) connect() (*api, error) {
	if err := c.resolve(); err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, failed("reading --ca-file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, failed("%s holds no PEM certificate", c.caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if strings.HasPrefix(c.server, "http://") && !loopback(c.server) {
		fmt.Fprintln(os.Stderr, "meshplane: warning: the token goes to", c.server, "unencrypted; use https")
	}
	// No client-wide timeout: it would cut the log streams of long runs.
	// Each unary call is bounded instead.
	hc := &http.Client{Transport: tr}
	opts := []connect.ClientOption{connect.WithInterceptors(bearerToken(c.token), unaryTimeout(2*time.Minute))}
	return &api{
		catalog:   meshplanev1connect.NewCatalogServiceClient(hc, c.server, opts...),
		identity:  meshplanev1connect.NewIdentityServiceClient(hc, c.server, opts...),
		policy:    meshplanev1connect.NewPolicyServiceClient(hc, c.server, opts...),
		provision: meshplanev1connect.NewProvisioningServiceClient(hc, c.server, opts...),
		access:    meshplanev1connect.NewAccessServiceClient(hc, c.server, opts...),
	}, nil
}

// loopback reports whether a server URL names this machine.
func loopback(server string) bool {
	host := strings.TrimPrefix(server, "http://")
	host, _, _ = strings.Cut(host, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// unaryTimeout bounds each unary call.
type unaryTimeout time.Duration

func (u unaryTimeout) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, cancel := context.WithTimeout(ctx, time.Duration(u))
		defer cancel()
		return next(ctx, req)
	}
}

func (u unaryTimeout) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (u unaryTimeout) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

type bearerToken string

func (b bearerToken) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearerToken) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, s connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, s)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearerToken) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// fieldErrors returns a Connect error's field violations, path → message.
func fieldErrors(err error) []*errdetails.BadRequest_FieldViolation {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []*errdetails.BadRequest_FieldViolation
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			if br, ok := v.(*errdetails.BadRequest); ok {
				out = append(out, br.GetFieldViolations()...)
			}
		}
	}
	return out
}

// message is a Connect error's message without its code prefix.
func message(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}

// login checks a token against a server and saves both for later commands.
func login(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c clientConfig
	c.register(fs, "")
	if err := fs.Parse(args); err != nil {
		return exitCode{code: exitFailed}
	}
	if c.token == "-" {
		// From standard input, so the token stays out of the process list and the shell's history.
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 4096))
		if err != nil {
			return failed("reading the token from standard input: %v", err)
		}
		c.token = strings.TrimSpace(string(b))
	}
	if c.token == "" {
		c.token = os.Getenv("MESHPLANE_TOKEN")
	}
	if c.token == "" {
		return failed("login needs --token - (read from standard input), --token or MESHPLANE_TOKEN (an API token from the portal or IdentityService/CreateToken)")
	}
	a, err := c.connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	me, err := a.identity.WhoAmI(ctx, connect.NewRequest(&v1.WhoAmIRequest{}))
	if err != nil {
		return failed("%s refused the token: %s", c.server, message(err))
	}
	b, _ := json.MarshalIndent(savedLogin{Server: c.server, Token: c.token, CAFile: c.caFile}, "", "  ")
	path := configPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return failed("%v", err)
	}
	// Written whole, readable by its owner alone from the first byte, then
	// put in place.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return failed("%v", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return failed("%v", err)
	}
	if err := tmp.Close(); err != nil {
		return failed("%v", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return failed("%v", err)
	}
	fmt.Fprintf(stdout, "Logged in to %s as %s; saved in %s\n", c.server, me.Msg.GetPrincipal().GetName(), path)
	return nil
}
