package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"
)

// guard bounds the work a request can cause before gqlgen reads it: it reads
// the body up to MaxBodyBytes, refuses a body that is not valid UTF-8 (which
// encoding/json would store as U+FFFD), scans the query against the limits
// of scanQuery, and bounds the response of a query to MaxResponseBytes.
// Everything it refuses costs time linear in the body and writes nothing.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			refuseOversizedBody(w, r.ContentLength)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				refuseOversizedBody(w, -1)
				return
			}
			writeRefusal(w, &refusal{status: http.StatusBadRequest, code: CodeBadRequest, message: "reading the request body: " + err.Error()})
			return
		}
		if ref := checkUTF8(body); ref != nil {
			writeRefusal(w, ref)
			return
		}
		// gqlgen decodes the body the same way: the first JSON value, with
		// whatever follows it ignored.
		var params struct {
			Query         string `json:"query"`
			OperationName string `json:"operationName"`
		}
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&params); err != nil {
			writeRefusal(w, &refusal{status: http.StatusBadRequest, code: CodeBadRequest,
				message: "request body is not a GraphQL request, a JSON object with a query string: " + err.Error()})
			return
		}
		shape, ref := scanQuery(params.Query, params.OperationName)
		if ref != nil {
			writeRefusal(w, ref)
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		if !shape.mutation {
			// A mutation's effects are done by the time its response is
			// written; refusing the response would hide them. A mutation
			// answers with the objects it wrote, priced by costLimit.
			w = &boundedWriter{ResponseWriter: w, limit: MaxResponseBytes}
		}
		next.ServeHTTP(w, r)
	})
}

// Codes of the refusals of a request's shape, in extensions.code.
const (
	// CodeBadRequest: the body is not a JSON GraphQL request (HTTP 400).
	CodeBadRequest = "BAD_REQUEST"
	// CodeRequestTooLarge: the body exceeds MaxBodyBytes (HTTP 413).
	CodeRequestTooLarge = "REQUEST_TOO_LARGE"
	// CodeQueryTooLarge: the query text exceeds MaxQueryBytes or MaxQueryTokens (HTTP 400).
	CodeQueryTooLarge = "QUERY_TOO_LARGE"
	// CodeQueryTooComplex: the document exceeds a limit on its shape (HTTP 400).
	CodeQueryTooComplex = "QUERY_TOO_COMPLEX"
	// CodeInvalidUTF8: the body, or a string the query escapes, is not valid UTF-8 (HTTP 400).
	CodeInvalidUTF8 = "INVALID_UTF8"
	// CodeParseFailed: the query is not GraphQL (HTTP 400); gqlgen's own code.
	CodeParseFailed = "GRAPHQL_PARSE_FAILED"
	// CodeValidationFailed: the document is GraphQL but invalid, here a
	// fragment that spreads itself (HTTP 400); gqlgen's own code.
	CodeValidationFailed = "GRAPHQL_VALIDATION_FAILED"
	// CodeSubscriptionsOnly: a query or mutation sent over a WebSocket.
	CodeSubscriptionsOnly = "SUBSCRIPTIONS_ONLY"
	// CodeResponseTooLarge: the response exceeds MaxResponseBytes (HTTP 422).
	CodeResponseTooLarge = "RESPONSE_TOO_LARGE"
)

// refusal is why a request is refused before gqlgen sees it: the message, its
// code, and for a limit its name, the limit and the value found.
type refusal struct {
	status  int
	code    string
	message string
	limit   string
	max     int64
	found   int64
	loc     *ast.Position
}

// refuseOversizedBody answers 413 to a body over MaxBodyBytes, of size bytes
// when known (size < 0 when not).
func refuseOversizedBody(w http.ResponseWriter, size int64) {
	ref := &refusal{status: http.StatusRequestEntityTooLarge, code: CodeRequestTooLarge, limit: "bodyBytes", max: MaxBodyBytes, found: size,
		message: fmt.Sprintf("request body is %d bytes, more than the limit of %d", size, MaxBodyBytes)}
	if size < 0 {
		ref.found = MaxBodyBytes + 1
		ref.message = fmt.Sprintf("request body is more than the limit of %d bytes", MaxBodyBytes)
	}
	writeRefusal(w, ref)
}

// checkUTF8 refuses a body that is not valid UTF-8, or whose JSON strings
// escape half of a UTF-16 surrogate pair (encoding/json decodes a lone half
// to U+FFFD); the Connect door refuses both.
func checkUTF8(body []byte) *refusal {
	if !utf8.Valid(body) {
		at := 0
		for at < len(body) {
			r, n := utf8.DecodeRune(body[at:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			at += n
		}
		return &refusal{status: http.StatusBadRequest, code: CodeInvalidUTF8,
			message: fmt.Sprintf("request body is not valid UTF-8: byte 0x%02x at offset %d", body[at], at)}
	}
	inString := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(body):
			i++
			if body[i] != 'u' || i+4 >= len(body) {
				continue
			}
			r, ok := hex4(string(body[i+1 : i+5]))
			if !ok || r < 0xD800 || r > 0xDFFF {
				continue
			}
			// A high half followed by a low half is one character.
			if r <= 0xDBFF && i+10 < len(body) && body[i+5] == '\\' && body[i+6] == 'u' {
				if lo, ok := hex4(string(body[i+7 : i+11])); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 10
					continue
				}
			}
			return &refusal{status: http.StatusBadRequest, code: CodeInvalidUTF8,
				message: fmt.Sprintf("request body escapes half of a UTF-16 surrogate pair (\\%s) at offset %d, which is not a character", body[i:i+5], i-1)}
		}
	}
	return nil
}

// writeRefusal answers a refusal as a GraphQL response with no data.
func writeRefusal(w http.ResponseWriter, r *refusal) {
	ext := map[string]any{"code": r.code}
	if r.limit != "" {
		ext["limit"], ext["max"], ext["found"] = r.limit, r.max, r.found
	}
	e := map[string]any{"message": r.message, "extensions": ext}
	if r.loc != nil && r.loc.Line > 0 {
		e["locations"] = []map[string]int{{"line": r.loc.Line, "column": r.loc.Column}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{e}})
}

// boundedWriter answers a response body over limit bytes with a refusal in
// its place. gqlgen writes a response in one call, before any status other
// than an error's, so the refusal can still choose its status.
type boundedWriter struct {
	http.ResponseWriter
	limit, written int
	headerSent     bool
	done           bool
}

var errResponseTooLarge = errors.New("response exceeds the limit")

func (b *boundedWriter) WriteHeader(code int) {
	b.headerSent = true
	b.ResponseWriter.WriteHeader(code)
}

func (b *boundedWriter) Write(p []byte) (int, error) {
	if b.done {
		return 0, errResponseTooLarge
	}
	if b.written+len(p) <= b.limit {
		b.written += len(p)
		b.headerSent = true
		return b.ResponseWriter.Write(p)
	}
	b.done = true
	if b.headerSent {
		return 0, errResponseTooLarge
	}
	writeRefusal(b.ResponseWriter, &refusal{status: http.StatusUnprocessableEntity, code: CodeResponseTooLarge,
		limit: "responseBytes", max: int64(b.limit), found: int64(b.written + len(p)),
		message: fmt.Sprintf("response is %d bytes, more than the limit of %d: ask for smaller pages or fewer fields", b.written+len(p), b.limit)})
	return len(p), nil
}

func (b *boundedWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }
