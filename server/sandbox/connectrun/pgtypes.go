package connectrun

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// pgColumn is one captured column of a PostgreSQL table.
type pgColumn struct {
	name    string
	oid     uint32
	typmod  int32
	notNull bool
	// character marks the columns Debezium's string mappers act on (the
	// JDBC types CHAR, VARCHAR and the like: text, varchar, bpchar, name).
	character bool
	// length is a character column's declared length, -1 when unbounded.
	length int
	schema *Schema
	// mapper masks or truncates the value; nil when none applies.
	mapper *mapper
}

// PostgreSQL type OIDs the sandbox converts natively.
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

// typeOptions are the connector's type-handling settings.
type typeOptions struct {
	decimal string // decimal.handling.mode: precise, double or string
	binary  string // binary.handling.mode: bytes, base64, base64-url-safe or hex
}

// newColumn builds the column's Connect schema as Debezium's
// PostgresValueConverter does with time.precision.mode=adaptive. Types the
// sandbox does not convert natively (arrays, intervals, geometric, network,
// range, money, enum and domain types) are written as their PostgreSQL text
// form in a string field; Debezium gives several of them structured or
// logical types.
func newColumn(name string, oid uint32, typmod int32, notNull bool, opts typeOptions) *pgColumn {
	c := &pgColumn{name: name, oid: oid, typmod: typmod, notNull: notNull, length: -1}
	s := &Schema{Optional: !notNull}
	switch oid {
	case oidBool:
		s.Type = TypeBoolean
	case oidInt2:
		s.Type = TypeInt16
	case oidInt4:
		s.Type = TypeInt32
	case oidInt8, oidOID:
		s.Type = TypeInt64
	case oidFloat4:
		s.Type = TypeFloat32
	case oidFloat8:
		s.Type = TypeFloat64
	case oidText, oidName, oidChar:
		s.Type, c.character = TypeString, true
	case oidVarchar, oidBPChar:
		s.Type, c.character = TypeString, true
		if typmod > 4 {
			c.length = int(typmod - 4)
		}
	case oidUUID:
		s.Type, s.Name, s.Version = TypeString, "io.debezium.data.Uuid", 1
	case oidJSON, oidJSONB:
		s.Type, s.Name, s.Version = TypeString, "io.debezium.data.Json", 1
	case oidDate:
		s.Type, s.Name, s.Version = TypeInt32, "io.debezium.time.Date", 1
	case oidTime:
		s.Type, s.Name, s.Version = TypeInt64, "io.debezium.time.MicroTime", 1
		if p := timePrecision(typmod); p <= 3 {
			s.Type, s.Name = TypeInt32, "io.debezium.time.Time"
		}
	case oidTimestamp:
		s.Type, s.Name, s.Version = TypeInt64, "io.debezium.time.MicroTimestamp", 1
		if p := timePrecision(typmod); p <= 3 {
			s.Name = "io.debezium.time.Timestamp"
		}
	case oidTimestamptz:
		s.Type, s.Name, s.Version = TypeString, "io.debezium.time.ZonedTimestamp", 1
	case oidNumeric:
		precision, scale, declared := numericTypmod(typmod)
		switch opts.decimal {
		case "double":
			s.Type = TypeFloat64
		case "string":
			s.Type = TypeString
		default:
			if !declared {
				s.Type, s.Name, s.Version = TypeStruct, "io.debezium.data.VariableScaleDecimal", 1
				s.Fields = []*Schema{
					{Type: TypeInt32, Field: "scale"},
					{Type: TypeBytes, Field: "value"},
				}
			} else {
				s.Type, s.Name, s.Version = TypeBytes, "org.apache.kafka.connect.data.Decimal", 1
				s.Parameters = map[string]string{"scale": strconv.Itoa(scale), "connect.decimal.precision": strconv.Itoa(precision)}
			}
		}
	case oidBytea:
		s.Type = TypeBytes
		if opts.binary != "" && opts.binary != "bytes" {
			s.Type = TypeString
		}
	default:
		s.Type = TypeString
	}
	c.schema = s
	return c
}

// timeDivisor turns microseconds into the time column's unit.
func (c *pgColumn) timeDivisor() int64 {
	if c.schema.Type == TypeInt32 {
		return 1000
	}
	return 1
}

// infinite maps PostgreSQL's infinity and -infinity dates and timestamps to
// the largest and smallest values their fields hold.
func infinite(text string, hi, lo int64) (int64, bool) {
	switch text {
	case "infinity":
		return hi, true
	case "-infinity":
		return lo, true
	}
	return 0, false
}

// parsePGTime parses a date or timestamp in PostgreSQL's ISO output, where
// years before 1 AD end in " BC" (1 BC is year 0 in Go's calendar, as in
// ISO 8601).
func parsePGTime(layout, text string) (time.Time, error) {
	bc := strings.HasSuffix(text, " BC")
	text = strings.TrimSuffix(text, " BC")
	t, err := time.Parse(layout, text)
	if err != nil || !bc {
		return t, err
	}
	return t.AddDate(1-2*t.Year(), 0, 0), nil
}

// fallback is the value Debezium's converters give a required column whose
// value is missing (JdbcValueConverters' fallbacks): zero, false, an empty
// string or the epoch.
func (c *pgColumn) fallback() any {
	switch c.schema.Type {
	case TypeBoolean:
		return false
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		return int64(0)
	case TypeFloat32, TypeFloat64:
		return float64(0)
	case TypeBytes:
		if c.schema.Name == "org.apache.kafka.connect.data.Decimal" {
			return []byte{0}
		}
		return []byte{}
	case TypeStruct:
		return NewStruct(c.schema).Set("scale", int64(0)).Set("value", []byte{0})
	}
	if c.schema.Name == "io.debezium.time.ZonedTimestamp" {
		return "1970-01-01T00:00:00Z"
	}
	return ""
}

// timePrecision is the fractional-second precision of a time or timestamp
// typmod; -1 (undeclared) means 6.
func timePrecision(typmod int32) int {
	if typmod < 0 {
		return 6
	}
	return int(typmod)
}

// numericTypmod returns a numeric's declared precision and scale; declared
// is false for a plain numeric.
func numericTypmod(typmod int32) (precision, scale int, declared bool) {
	if typmod < 4 {
		return 0, 0, false
	}
	t := typmod - 4
	// PostgreSQL 15 allows negative scales: 11 bits, sign-extended.
	return int(t>>16) & 0xffff, int((t&0x7ff)^1024) - 1024, true
}

// convert turns a value in PostgreSQL's text output format (DateStyle ISO,
// TimeZone UTC, bytea_output hex) into the column's Connect value, before
// any mapper.
func (c *pgColumn) convert(text string, opts typeOptions) (any, error) {
	switch c.oid {
	case oidBool:
		return text == "t", nil
	case oidInt2, oidInt4, oidInt8, oidOID:
		return strconv.ParseInt(text, 10, 64)
	case oidFloat4, oidFloat8:
		switch text {
		case "NaN", "Infinity", "-Infinity":
			// JSON has no such numbers; the JSON converter would write
			// them as strings.
			return text, nil
		}
		return strconv.ParseFloat(text, 64)
	case oidDate:
		if v, ok := infinite(text, math.MaxInt32, math.MinInt32); ok {
			return v, nil
		}
		t, err := parsePGTime("2006-01-02", text)
		if err != nil {
			return nil, fmt.Errorf("date %q: %w", text, err)
		}
		return int64(math.Floor(float64(t.Unix()) / 86400)), nil
	case oidTime:
		t, err := time.Parse("15:04:05.999999", text)
		if err != nil {
			if text == "24:00:00" {
				return int64(86400e6) / c.timeDivisor(), nil
			}
			return nil, fmt.Errorf("time %q: %w", text, err)
		}
		us := int64(t.Hour())*3600e6 + int64(t.Minute())*60e6 + int64(t.Second())*1e6 + int64(t.Nanosecond()/1000)
		return us / c.timeDivisor(), nil
	case oidTimestamp:
		if v, ok := infinite(text, math.MaxInt64, math.MinInt64); ok {
			return v, nil
		}
		t, err := parsePGTime("2006-01-02 15:04:05.999999", text)
		if err != nil {
			return nil, fmt.Errorf("timestamp %q: %w", text, err)
		}
		if c.schema.Name == "io.debezium.time.Timestamp" {
			return t.UnixMilli(), nil
		}
		return t.UnixMicro(), nil
	case oidTimestamptz:
		if text == "infinity" || text == "-infinity" {
			return text, nil
		}
		t, err := parsePGTime("2006-01-02 15:04:05.999999Z07", text)
		if err != nil {
			if t, err = parsePGTime("2006-01-02 15:04:05.999999Z07:00", text); err != nil {
				if t, err = parsePGTime("2006-01-02 15:04:05.999999Z07:00:00", text); err != nil {
					return nil, fmt.Errorf("timestamptz %q: %w", text, err)
				}
			}
		}
		return t.UTC().Format("2006-01-02T15:04:05.999999Z07:00"), nil
	case oidNumeric:
		return c.numeric(text, opts)
	case oidBytea:
		b, err := hex.DecodeString(strings.TrimPrefix(text, `\x`))
		if err != nil {
			return nil, fmt.Errorf("bytea: %w", err)
		}
		switch opts.binary {
		case "hex":
			return hex.EncodeToString(b), nil
		case "base64":
			return b, nil // the JSON converter writes bytes as base64 anyway
		case "base64-url-safe":
			return urlSafeBase64(b), nil
		}
		return b, nil
	}
	return text, nil
}

func (c *pgColumn) numeric(text string, opts typeOptions) (any, error) {
	special := text == "NaN" || text == "Infinity" || text == "-Infinity"
	switch {
	case opts.decimal == "string" || (opts.decimal == "double" && special):
		// JSON has no NaN or infinities: the text, as for floats.
		return text, nil
	case opts.decimal == "double":
		return strconv.ParseFloat(text, 64)
	case special:
		// A Decimal has no such values.
		return nil, nil
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return nil, fmt.Errorf("numeric %q is not a number", text)
	}
	scale := 0
	if i := strings.IndexByte(text, '.'); i >= 0 {
		scale = len(text) - i - 1
	}
	if c.schema.Type == TypeBytes {
		scale = c.schema.paramInt("scale")
	}
	// unscaled = value × 10^scale (a negative scale divides).
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(scale, -scale))), nil)
	num, den := new(big.Int).Set(r.Num()), new(big.Int).Set(r.Denom())
	if scale >= 0 {
		num.Mul(num, pow)
	} else {
		den.Mul(den, pow)
	}
	unscaled := num.Quo(num, den)
	b := twosComplement(unscaled)
	if c.schema.Type == TypeBytes {
		return b, nil
	}
	st := NewStruct(c.schema)
	st.Set("scale", int64(scale))
	st.Set("value", b)
	return st, nil
}

func (s *Schema) paramInt(name string) int {
	n, _ := strconv.Atoi(s.Parameters[name])
	return n
}

// twosComplement is BigInteger.toByteArray: big-endian two's complement in
// the fewest bytes.
func twosComplement(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// -n-1, inverted.
	m := new(big.Int).Neg(n)
	m.Sub(m, big.NewInt(1))
	b := m.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	for i := range b {
		b[i] = ^b[i]
	}
	return b
}

func urlSafeBase64(b []byte) string { return base64.URLEncoding.EncodeToString(b) }
