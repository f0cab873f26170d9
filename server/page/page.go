// Package page encodes opaque keyset cursors, checks them on decode, and bounds page sizes.
// A cursor only positions a listing; it grants nothing, so it needs no signature.
package page

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/meshplane/meshplane/server/errs"
)

// DefaultSize and MaxSize bound how many items one page returns.
const (
	DefaultSize = 50
	MaxSize     = 500
)

// Size returns the page size to use for a requested size, or an error for a negative one.
func Size(path string, requested int) (int, error) {
	switch {
	case requested < 0:
		var v errs.Violations
		v.Add(path, "must not be negative")
		return 0, v.Err()
	case requested == 0:
		return DefaultSize, nil
	case requested > MaxSize:
		return MaxSize, nil
	}
	return requested, nil
}

// Cursor is the position after the last item of a page: the ordering it
// belongs to and the sort key of that item.
type Cursor struct {
	Order string `json:"o"`
	Desc  bool   `json:"d,omitempty"`
	Key   string `json:"k"`
	ID    string `json:"i"`
}

// Encode returns the cursor as an opaque token.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode parses a token produced by Encode for the same ordering; a token
// from another ordering or a mangled one is an invalid argument on path.
func Decode(path, token, order string, desc bool) (*Cursor, error) {
	if token == "" {
		return nil, nil
	}
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || len(token) > 1024 {
		var v errs.Violations
		v.Add(path, "is not a page token returned by this list")
		return nil, v.Err()
	}
	if c.Order != order || c.Desc != desc {
		var v errs.Violations
		v.Add(path, "belongs to a different ordering: repeat the request with the ordering that produced it")
		return nil, v.Err()
	}
	return &c, nil
}

// Page is one page of a listing with the cursor after each item, so any door
// can continue from any item; Next is the token of the following page, ""
// on the last one.
type Page[T any] struct {
	Items   []T
	Cursors []string
	Next    string
}

// Start validates a page request: the size to fetch (one more than returned,
// to learn whether another page follows) and the decoded cursor, if any.
func Start(pageSize int, token, order string, desc bool) (size int, cur *Cursor, err error) {
	if size, err = Size("pageSize", pageSize); err != nil {
		return 0, nil, err
	}
	if cur, err = Decode("pageToken", token, order, desc); err != nil {
		return 0, nil, err
	}
	return size, cur, nil
}

// Of builds a page from up to size+1 fetched items.
func Of[T any](items []T, size int, cursorOf func(T) Cursor) Page[T] {
	more := len(items) > size
	if more {
		items = items[:size]
	}
	p := Page[T]{Items: items, Cursors: make([]string, len(items))}
	for i, item := range items {
		p.Cursors[i] = cursorOf(item).Encode()
	}
	if more {
		p.Next = p.Cursors[len(items)-1]
	}
	return p
}

// Newest is the ordering of listings that show the newest first: by
// creation time, then id, both descending.
const Newest = "create_time"

// NewestCursor is the cursor of an item in a newest-first listing.
func NewestCursor(created time.Time, id string) Cursor {
	return Cursor{Order: Newest, Desc: true, Key: created.UTC().Format(time.RFC3339Nano), ID: id}
}

// Time is the creation time a newest-first cursor holds; a mangled one is
// an invalid page token.
func (c Cursor) Time() (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, c.Key)
	if err != nil {
		var v errs.Violations
		v.Add("pageToken", "is not a page token returned by this list")
		return time.Time{}, v.Err()
	}
	return t, nil
}
