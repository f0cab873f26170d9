package graph

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckUTF8(t *testing.T) {
	t.Parallel()
	for body, ok := range map[string]bool{
		`{"query":"{ a }","variables":{"s":"caf\u00e9 \ud83d\ude00 \ufffd"}}`: true,
		`{"s":"\\ud800 is six characters, not an escape"}`:                    true,
		`{"s":"\\\ud83d\ude00"}`:                                              true,
		`{"s":"\ud800"}`:                                                      false,
		`{"s":"\ud83d\u0041"}`:                                                false,
		`{"s":"\ude00\ud83d"}`:                                                false,
		`{"s":"\\\udfff"}`:                                                    false,
		`{"s":"ends with \ud83d`:                                              false,
		"{\"s\":\"caf\xe9\"}":                                                 false,
		"{\"s\":\"\xed\xa0\x80\"}":                                            false, // a surrogate encoded as UTF-8
	} {
		if r := checkUTF8([]byte(body)); (r == nil) != ok {
			t.Errorf("checkUTF8(%q) = %+v, want ok %v", body, r, ok)
		} else if r != nil && (r.status != http.StatusBadRequest || r.code != CodeInvalidUTF8) {
			t.Errorf("checkUTF8(%q) = %+v", body, r)
		}
	}
}

// TestGuardBoundsQueryResponses checks that a query's oversized response is
// replaced by a refusal, and that a mutation's, whose effects are done, is not.
func TestGuardBoundsQueryResponses(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", MaxResponseBytes)
	h := guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"s":"` + big + `"}}`))
	}))
	for query, want := range map[string]int{
		`{ viewer { principal { name } } }`:                                 http.StatusUnprocessableEntity,
		`mutation { createDomain(input: {name: "x"}) { domain { name } } }`: http.StatusOK,
	} {
		body, _ := json.Marshal(map[string]any{"query": query})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body))))
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d", query, rec.Code, want)
		}
		if want != http.StatusOK {
			var r struct {
				Errors []struct {
					Extensions struct {
						Code  string
						Found int
					}
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || len(r.Errors) != 1 ||
				r.Errors[0].Extensions.Code != CodeResponseTooLarge || r.Errors[0].Extensions.Found <= MaxResponseBytes {
				t.Errorf("%s: refusal %.300s", query, rec.Body.String())
			}
		} else if rec.Body.Len() <= MaxResponseBytes {
			t.Errorf("%s: body of %d bytes", query, rec.Body.Len())
		}
	}
}
