package connectrun

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// The JDBC sink's conversions: JSON converter records to Connect values,
// and Connect types and values to PostgreSQL columns and parameters.

// --- the JSON converter ---

// jsonToConnect converts a record key or value as JsonConverter does with
// schemas enabled. A null (tombstone) gives a nil schema and value.
func jsonToConnect(data []byte) (*Schema, any, error) {
	env, err := Decode(data)
	if err != nil {
		return nil, nil, smtDataError("Converting byte[] to Kafka Connect data failed due to serialization error: %v", err)
	}
	if env == nil {
		return nil, nil, nil
	}
	if env.Schema == nil {
		return nil, nil, smtDataError("the record has no schema; the JDBC sink reads records the JSON converter wrote with schemas.enable=true")
	}
	var tree any
	if p := bytes.TrimSpace(env.Payload); len(p) > 0 {
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil {
			return nil, nil, smtDataError("Converting byte[] to Kafka Connect data failed due to serialization error: %v", err)
		}
	}
	v, err := toConnectValue(env.Schema, tree)
	if err != nil {
		return nil, nil, err
	}
	return env.Schema, v, nil
}

// toConnectValue converts decoded JSON (UseNumber) to the Connect value of
// schema s.
func toConnectValue(s *Schema, v any) (any, error) {
	if v == nil {
		if s.Optional {
			return nil, nil
		}
		return nil, smtDataError("Invalid null value for required %s field", strings.ToUpper(s.Type))
	}
	mismatch := func() error {
		return smtDataError("Invalid JSON for a %s field: %s", strings.ToUpper(s.Type), jsonNodeType(v))
	}
	switch s.Type {
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch()
		}
		i, err := strconv.ParseInt(n.String(), 10, connectIntBits[s.Type])
		if err != nil {
			return nil, smtDataError("Invalid value %s for a %s field", n, strings.ToUpper(s.Type))
		}
		return i, nil
	case TypeFloat32, TypeFloat64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch()
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil {
			return nil, smtDataError("Invalid value %s for a %s field", n, strings.ToUpper(s.Type))
		}
		return f, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, mismatch()
		}
		return b, nil
	case TypeString:
		str, ok := v.(string)
		if !ok {
			return nil, mismatch()
		}
		return str, nil
	case TypeBytes:
		if n, ok := v.(json.Number); ok && s.Name == decimalSchema {
			return decimalString(n.String()), nil
		}
		str, ok := v.(string)
		if !ok {
			return nil, mismatch()
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return nil, smtDataError("Invalid bytes field: not base64")
		}
		if s.Name == decimalSchema && len(b) == 0 {
			return nil, smtDataError("Invalid Decimal field: no unscaled value")
		}
		return b, nil
	case TypeStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, smtDataError("Structs should be encoded as JSON objects, but found %s", jsonNodeType(v))
		}
		st := NewStruct(s)
		for i, f := range s.Fields {
			fv, err := toConnectValue(f, m[f.Field])
			if err != nil {
				return nil, err
			}
			st.Values[i] = fv
		}
		return st, nil
	case "array", "map":
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, smtDataError("Invalid %s field: %v", s.Type, err)
		}
		return json.RawMessage(raw), nil
	}
	return nil, smtDataError("Unknown schema type: %s", s.Type)
}

// jsonNodeType names a decoded JSON value's kind as Jackson does.
func jsonNodeType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "OBJECT"
	case []any:
		return "ARRAY"
	case string:
		return "STRING"
	case json.Number:
		return "NUMBER"
	case bool:
		return "BOOLEAN"
	}
	return "NULL"
}

// --- types and values ---

// sinkColumnType is the PostgreSQL type the connector creates for a field of
// schema s (its PostgreSQL dialect on Hibernate's type names).
func sinkColumnType(s *Schema, key bool) (string, error) {
	switch s.Name {
	case decimalSchema:
		scale, _ := strconv.Atoi(s.Parameters["scale"])
		scale = max(scale, 0)
		if p, _ := strconv.Atoi(s.Parameters["connect.decimal.precision"]); p > 0 {
			return fmt.Sprintf("numeric(%d,%d)", min(p, 1000), scale), nil
		}
		if scale != 0 {
			return fmt.Sprintf("numeric(1000,%d)", scale), nil
		}
		return "numeric", nil
	case "io.debezium.data.VariableScaleDecimal":
		return "double precision", nil
	case "io.debezium.time.Date", connectDateSchema:
		return "date", nil
	case "io.debezium.time.Time", "io.debezium.time.MicroTime", "io.debezium.time.NanoTime", connectTimeSchema:
		return fmt.Sprintf("time(%d)", sinkTimePrecision(s)), nil
	case "io.debezium.time.Timestamp", "io.debezium.time.MicroTimestamp", "io.debezium.time.NanoTimestamp", connectTimestampSchema:
		return fmt.Sprintf("timestamp(%d)", sinkTimePrecision(s)), nil
	case "io.debezium.time.ZonedTimestamp":
		return fmt.Sprintf("timestamp(%d) with time zone", sinkTimePrecision(s)), nil
	case "io.debezium.time.ZonedTime":
		return fmt.Sprintf("time(%d) with time zone", sinkTimePrecision(s)), nil
	case "io.debezium.time.MicroDuration":
		return "interval", nil
	case "io.debezium.data.Json":
		if strings.EqualFold(s.Parameters["__debezium.source.column.type"], "JSONB") {
			return "jsonb", nil
		}
		return "json", nil
	case "io.debezium.data.Uuid":
		return "uuid", nil
	case "io.debezium.data.Xml":
		return "xml", nil
	}
	switch s.Type {
	case TypeInt8, TypeInt16:
		return "smallint", nil
	case TypeInt32:
		return "integer", nil
	case TypeInt64:
		return "bigint", nil
	case TypeFloat32:
		return "real", nil
	case TypeFloat64:
		return "double precision", nil
	case TypeBoolean:
		return "boolean", nil
	case TypeString:
		return sinkStringType(s), nil
	case TypeBytes:
		return "bytea", nil
	}
	name := s.Name
	if name == "" {
		name = "null"
	}
	return "", fmt.Errorf("Failed to resolve column type for schema: %s (%s); the sandbox's JDBC sink does not write %s fields",
		strings.ToUpper(s.Type), name, s.Type)
}

// sinkStringType is a string field's type: char(n) or varchar(n) when the source
// propagated its column type and length, text otherwise.
func sinkStringType(s *Schema) string {
	n, _ := strconv.Atoi(s.Parameters["__debezium.source.column.length"])
	switch strings.ToUpper(s.Parameters["__debezium.source.column.type"]) {
	case "CHAR", "CHARACTER", "BPCHAR", "NCHAR":
		return fmt.Sprintf("char(%d)", max(n, 1))
	case "VARCHAR", "VARCHAR2", "CHARACTER VARYING", "NVARCHAR", "NVARCHAR2":
		if n > 0 && n <= 10485760 {
			return fmt.Sprintf("varchar(%d)", n)
		}
	}
	return "text"
}

// sinkTimePrecision is a time or timestamp column's fractional digits: the
// source column's, when propagated, else 6.
func sinkTimePrecision(s *Schema) int {
	p, err := strconv.Atoi(s.Parameters["__debezium.source.column.scale"])
	if err != nil {
		p, _ = strconv.Atoi(s.Parameters["__debezium.source.column.length"])
	}
	if p > 0 && p <= 6 {
		return p
	}
	return 6
}

// sinkSQLValue is the statement argument for a value of schema s: nil or its
// PostgreSQL text form, which pgx sends as text for the server to parse as
// the column's type.
func sinkSQLValue(s *Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if d, ok := v.(decimalString); ok {
		return string(d), nil
	}
	n, isInt := v.(int64)
	switch s.Name {
	case decimalSchema:
		b, ok := v.([]byte)
		if !ok {
			return nil, errors.New("a Decimal value is not bytes")
		}
		scale, _ := strconv.Atoi(s.Parameters["scale"])
		return decimalFromUnscaled(b, scale), nil
	case "io.debezium.data.VariableScaleDecimal":
		st, ok := v.(*Struct)
		if !ok {
			return nil, errors.New("a VariableScaleDecimal value is not a struct")
		}
		scale, _ := st.Get("scale").(int64)
		b, _ := st.Get("value").([]byte)
		if len(b) == 0 {
			return nil, errors.New("a VariableScaleDecimal value has no unscaled value")
		}
		return decimalFromUnscaled(b, int(scale)), nil
	}
	if isInt {
		switch s.Name {
		case "io.debezium.time.Date", connectDateSchema:
			return sinkDate(time.Unix(n*86400, 0).UTC()), nil
		case "io.debezium.time.Time", connectTimeSchema:
			return sinkTimeOfDay(n * int64(time.Millisecond)), nil
		case "io.debezium.time.MicroTime":
			return sinkTimeOfDay(n * int64(time.Microsecond)), nil
		case "io.debezium.time.NanoTime":
			return sinkTimeOfDay(n), nil
		case "io.debezium.time.Timestamp", connectTimestampSchema:
			return sinkTimestamp(time.UnixMilli(n).UTC()), nil
		case "io.debezium.time.MicroTimestamp":
			return sinkTimestamp(time.UnixMicro(n).UTC()), nil
		case "io.debezium.time.NanoTimestamp":
			return sinkTimestamp(time.Unix(0, n).UTC()), nil
		case "io.debezium.time.MicroDuration":
			return strconv.FormatInt(n, 10) + " microseconds", nil
		}
	}
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		bits := 64
		if s.Type == TypeFloat32 {
			bits = 32
		}
		switch {
		case math.IsNaN(x):
			return "NaN", nil
		case math.IsInf(x, 1):
			return "Infinity", nil
		case math.IsInf(x, -1):
			return "-Infinity", nil
		}
		return strconv.FormatFloat(x, 'g', -1, bits), nil
	case string:
		return x, nil
	case []byte:
		return `\x` + hex.EncodeToString(x), nil
	}
	return nil, fmt.Errorf("the sandbox's JDBC sink does not write %s values", strings.ToUpper(s.Type))
}

// decimalFromUnscaled renders a Decimal: a big-endian two's complement unscaled
// value and a scale.
func decimalFromUnscaled(b []byte, scale int) string {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	sign := ""
	if n.Sign() < 0 {
		sign = "-"
		n.Neg(n)
	}
	digits := n.String()
	if scale <= 0 {
		if n.Sign() != 0 {
			digits += strings.Repeat("0", -scale)
		}
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

// sinkDate renders a date in PostgreSQL's input syntax (years before 1 as BC).
func sinkDate(t time.Time) string {
	y, bc := t.Year(), ""
	if y <= 0 {
		y, bc = 1-y, " BC"
	}
	return fmt.Sprintf("%04d-%02d-%02d%s", y, t.Month(), t.Day(), bc)
}

// sinkTimestamp renders a timestamp without time zone, to the microsecond.
func sinkTimestamp(t time.Time) string {
	y, bc := t.Year(), ""
	if y <= 0 {
		y, bc = 1-y, " BC"
	}
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%06d%s", y, t.Month(), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000, bc)
}

// sinkTimeOfDay renders nanoseconds since midnight as a time.
func sinkTimeOfDay(ns int64) string {
	d := time.Duration(ns)
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	sec := d / time.Second
	d -= sec * time.Second
	return fmt.Sprintf("%02d:%02d:%02d.%06d", h, m, sec, d/time.Microsecond)
}
