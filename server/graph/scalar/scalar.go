// Package scalar implements the GraphQL door's custom scalars.
package scalar

import (
	"encoding/json"
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// MarshalInt64 writes v as a JSON number.
func MarshalInt64(v int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.FormatInt(v, 10))
	})
}

// UnmarshalInt64 reads a whole number given as a JSON number or a decimal
// string. Request bodies are decoded with json.Number, so no value passes
// through a float64 and loses precision on the way. GraphQL's validation
// cannot check custom scalars, so a bad value is reported here with the code
// validation gives a bad Int.
func UnmarshalInt64(v any) (int64, error) {
	var (
		n   int64
		err error
	)
	switch v := v.(type) {
	case json.Number:
		n, err = strconv.ParseInt(string(v), 10, 64)
	case string:
		n, err = strconv.ParseInt(v, 10, 64)
	case int64:
		n = v
	case int:
		n = int64(v)
	default:
		err = strconv.ErrSyntax
	}
	if err != nil {
		e := gqlerror.Errorf("Int64 must be a whole number between -2^63 and 2^63-1, as a JSON number or a decimal string")
		errcode.Set(e, errcode.ValidationFailed)
		return 0, e
	}
	return n, nil
}
