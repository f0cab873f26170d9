package connectrun

import (
	"fmt"
	"math"
	"testing"
)

// Values in PostgreSQL's text output become the Connect values Debezium
// writes, edge cases included.
func TestConvertPostgresText(t *testing.T) {
	opts := typeOptions{decimal: "precise", binary: "bytes"}
	col := func(oid uint32, typmod int32) *pgColumn { return newColumn("c", oid, typmod, false, opts) }
	for _, tc := range []struct {
		name string
		c    *pgColumn
		text string
		want any
	}{
		{"date", col(oidDate, -1), "1970-01-02", int64(1)},
		{"date before the epoch", col(oidDate, -1), "1969-12-31", int64(-1)},
		{"date BC", col(oidDate, -1), "0001-01-01 BC", int64(-719528)}, // year 0 in ISO 8601
		{"date infinity", col(oidDate, -1), "infinity", int64(math.MaxInt32)},
		{"timestamp micros", col(oidTimestamp, -1), "1970-01-01 00:00:01.5", int64(1_500_000)},
		{"timestamp(3) millis", col(oidTimestamp, 3), "1970-01-01 00:00:01.5", int64(1_500)},
		{"timestamp -infinity", col(oidTimestamp, -1), "-infinity", int64(math.MinInt64)},
		{"timestamptz UTC", col(oidTimestamptz, -1), "2024-01-02 03:04:05.123456+00", "2024-01-02T03:04:05.123456Z"},
		{"timestamptz offset", col(oidTimestamptz, -1), "2024-01-02 03:04:05+05:30", "2024-01-01T21:34:05Z"},
		{"timestamptz seconds offset", col(oidTimestamptz, -1), "1900-01-01 00:00:00+00:19:32", "1899-12-31T23:40:28Z"},
		{"time", col(oidTime, -1), "01:00:00.25", int64(3_600_250_000)},
		{"time 24:00", col(oidTime, -1), "24:00:00", int64(86_400_000_000)},
		{"bool", col(oidBool, -1), "t", true},
		{"int8", col(oidInt8, -1), "-9223372036854775808", int64(math.MinInt64)},
		{"float NaN", col(oidFloat8, -1), "NaN", "NaN"},
	} {
		got, err := tc.c.convert(tc.text, opts)
		if err != nil || got != tc.want {
			t.Errorf("%s: convert(%q) = %v (%T), %v; want %v", tc.name, tc.text, got, got, err, tc.want)
		}
	}
	// numeric(10,2): Decimal bytes, the unscaled value in two's complement.
	got, err := col(oidNumeric, (10<<16|2)+4).convert("-3.25", opts)
	if b, ok := got.([]byte); err != nil || !ok || len(b) != 2 || b[0] != 0xfe || b[1] != 0xbb {
		t.Errorf("numeric -3.25 = %v, %v; want [fe bb] (-325)", got, err)
	}
}

func TestConvertNumericSpecials(t *testing.T) {
	for _, tc := range []struct {
		mode, text string
		typmod     int32
		want       any
	}{
		{"precise", "NaN", -1, nil},
		{"precise", "Infinity", -1, nil},
		{"string", "NaN", -1, "NaN"},
		{"double", "-Infinity", -1, "-Infinity"},
		{"double", "2.5", -1, 2.5},
	} {
		opts := typeOptions{decimal: tc.mode}
		got, err := newColumn("n", oidNumeric, tc.typmod, false, opts).convert(tc.text, opts)
		if err != nil || got != tc.want {
			t.Errorf("%s %q = %v, %v; want %v", tc.mode, tc.text, got, err, tc.want)
		}
	}
	// numeric(5,-2), PostgreSQL 15's negative scale: 12300 is 123 × 10^2.
	typmod := int32(5<<16|(-2&0x7ff)) + 4
	if p, s, ok := numericTypmod(typmod); p != 5 || s != -2 || !ok {
		t.Errorf("numeric(5,-2) typmod = precision %d scale %d", p, s)
	}
	opts := typeOptions{decimal: "precise"}
	if got, err := newColumn("n", oidNumeric, typmod, false, opts).convert("12300", opts); err != nil || fmt.Sprint(got) != "[123]" {
		t.Errorf("12300 in numeric(5,-2) = %v, %v; want the unscaled 123", got, err)
	}
}
