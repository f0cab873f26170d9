package page_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/meshplane/meshplane/server/errs"
	"github.com/meshplane/meshplane/server/page"
)

func TestCursorRoundTrip(t *testing.T) {
	cursors := []page.Cursor{
		{Order: "name", Key: "orders", ID: "0196b2f4-7d1e-7c3a-9a57-2b1f1a0c9e11"},
		{Order: "create_time", Desc: true, Key: "2025-03-01T10:00:00.123456789Z", ID: "x"},
		{Order: "seq", Desc: true, Key: "18446744073709551615", ID: ""},
		{Order: "name", Key: "", ID: ""},
		{Order: "name", Key: `quote " back\slash / plus+ equals= ünïcode 🙂 nul` + "\x00", ID: "id/with+chars="},
	}
	for _, c := range cursors {
		token := c.Encode()
		if token == "" {
			t.Fatalf("Encode(%+v) is empty", c)
		}
		// Tokens travel in URLs and JSON unescaped.
		if strings.ContainsAny(token, "+/=\"\\ ") {
			t.Errorf("token %q is not URL-safe", token)
		}
		got, err := page.Decode("pageToken", token, c.Order, c.Desc)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", c, err)
		}
		if got == nil || *got != c {
			t.Errorf("round trip of %+v gave %+v", c, got)
		}
	}
}

func TestDecodeEmptyToken(t *testing.T) {
	c, err := page.Decode("pageToken", "", "name", false)
	if c != nil || err != nil {
		t.Errorf("Decode(\"\") = %+v, %v; want the first page", c, err)
	}
}

// wantViolation asserts err is an invalid argument on exactly path.
func wantViolation(t *testing.T, err error, path string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	e := errs.As(err)
	if e.Kind != errs.KindInvalidArgument {
		t.Fatalf("kind %v, want invalid argument: %v", e.Kind, err)
	}
	if len(e.Fields) != 1 || e.Fields[0].Path != path || e.Fields[0].Message == "" {
		t.Fatalf("fields %+v, want one violation at %s", e.Fields, path)
	}
}

func TestDecodeRejectsTamperedTokens(t *testing.T) {
	good := page.Cursor{Order: "name", Key: "orders", ID: "abc"}.Encode()
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct{ name, token string }{
		{"not base64", "not a token!"},
		// "eyJvIjoibmFtZSIsImsiOiJ+fn4iLCJpIjoiYmIifQ==": '+' and padding.
		{"standard base64 alphabet", base64.StdEncoding.EncodeToString([]byte(`{"o":"name","k":"~~~","i":"bb"}`))},
		{"padded", good + "=="},
		{"truncated", good[:len(good)-3]},
		{"one character", "e"},
		{"bit flip breaks the JSON", "X" + good[1:]},
		{"not JSON", b64("orders")},
		{"JSON array", b64(`["name","orders","abc"]`)},
		{"JSON string", b64(`"name"`)},
		{"wrong field type", b64(`{"o":"name","k":1,"i":"abc"}`)},
		{"truncated JSON", b64(`{"o":"name","k":"orders"`)},
		{"trailing garbage", b64(`{"o":"name","k":"orders","i":"abc"}x`)},
		{"over 1024 characters", page.Cursor{Order: "name", Key: strings.Repeat("k", 800), ID: "abc"}.Encode()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := page.Decode("pageToken", tt.token, "name", false)
			if c != nil {
				t.Errorf("Decode returned cursor %+v", c)
			}
			wantViolation(t, err, "pageToken")
		})
	}
}

func TestDecodeRejectsForeignOrderings(t *testing.T) {
	tests := []struct {
		name   string
		cursor page.Cursor
		order  string
		desc   bool
	}{
		{"other order field", page.Cursor{Order: "create_time", Key: "k", ID: "i"}, "name", false},
		{"other direction", page.Cursor{Order: "name", Desc: true, Key: "k", ID: "i"}, "name", false},
		{"ascending token for a descending list", page.Cursor{Order: "seq", Key: "10", ID: "i"}, "seq", true},
		{"order differs in case", page.Cursor{Order: "Name", Key: "k", ID: "i"}, "name", false},
		{"empty order", page.Cursor{Key: "k", ID: "i"}, "name", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := page.Decode("pageToken", tt.cursor.Encode(), tt.order, tt.desc)
			if c != nil {
				t.Errorf("Decode returned cursor %+v", c)
			}
			wantViolation(t, err, "pageToken")
			if !strings.Contains(err.Error(), "different ordering") {
				t.Errorf("message %q does not say the ordering differs", err)
			}
		})
	}
	// JSON null decodes to an empty cursor, which belongs to no ordering.
	_, err := page.Decode("pageToken", base64.RawURLEncoding.EncodeToString([]byte("null")), "name", false)
	wantViolation(t, err, "pageToken")
}

func TestDecodeUsesGivenPath(t *testing.T) {
	_, err := page.Decode("request.pageToken", "!!", "name", false)
	wantViolation(t, err, "request.pageToken")
}

func TestSize(t *testing.T) {
	tests := []struct{ requested, want int }{
		{0, page.DefaultSize},
		{1, 1},
		{49, 49},
		{page.DefaultSize, page.DefaultSize},
		{page.MaxSize - 1, page.MaxSize - 1},
		{page.MaxSize, page.MaxSize},
		{page.MaxSize + 1, page.MaxSize},
		{1 << 30, page.MaxSize},
	}
	for _, tt := range tests {
		got, err := page.Size("pageSize", tt.requested)
		if err != nil || got != tt.want {
			t.Errorf("Size(%d) = %d, %v; want %d", tt.requested, got, err, tt.want)
		}
	}
	if page.DefaultSize != 50 || page.MaxSize != 500 {
		t.Errorf("bounds changed: default %d, max %d", page.DefaultSize, page.MaxSize)
	}
	for _, n := range []int{-1, -page.MaxSize, -1 << 31} {
		got, err := page.Size("pageSize", n)
		if got != 0 {
			t.Errorf("Size(%d) = %d", n, got)
		}
		wantViolation(t, err, "pageSize")
	}
}

func TestOf(t *testing.T) {
	cursorOf := func(s string) page.Cursor { return page.Cursor{Order: "name", Key: s} }
	full := page.Of([]string{"a", "b", "c"}, 2, cursorOf)
	if len(full.Items) != 2 || full.Next == "" || full.Next != full.Cursors[1] {
		t.Fatalf("a fetch of size+1 must trim and continue after the last item: %+v", full)
	}
	c, err := page.Decode("pageToken", full.Next, "name", false)
	if err != nil || c.Key != "b" {
		t.Fatalf("next cursor decodes to %+v, %v", c, err)
	}
	last := page.Of([]string{"a", "b"}, 2, cursorOf)
	if last.Next != "" || len(last.Cursors) != 2 {
		t.Fatalf("a short fetch is the last page: %+v", last)
	}
	if _, _, err := page.Start(-1, "", "name", false); err == nil {
		t.Fatal("negative page size accepted")
	}
}
