package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Deliveries are signed the Standard Webhooks way, so receivers can verify
// them with any of its libraries: the headers below, and a signature
// "v1,BASE64(HMAC-SHA256(secret, id + "." + timestamp + "." + body))".
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	// SecretPrefix starts every signing secret; the rest is the key, base64.
	SecretPrefix = "whsec_"
)

// secretFor derives a webhook's signing secret from the server's key: the
// catalog holds only the generation, so a copy of the catalog signs nothing.
func secretFor(key []byte, webhookID string, generation int) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("meshplane webhook signing secret\x00" + webhookID + "\x00" + strconv.Itoa(generation)))
	return SecretPrefix + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns the signature header of body sent as message id at ts.
func Sign(secret, id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(secret, id, strconv.FormatInt(ts.Unix(), 10), body))
}

// Verify reports whether header carries a valid signature of body sent as
// message id at timestamp (the headers' values), signed within tolerance
// of now.
func Verify(secret, id, timestamp, header string, body []byte, now time.Time, tolerance time.Duration) bool {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return false
	}
	want := mac(secret, id, timestamp, body)
	for _, sig := range strings.Fields(header) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func mac(secret, id, timestamp string, body []byte) []byte {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		key = []byte(secret)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return m.Sum(nil)
}
