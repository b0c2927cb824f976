package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// hmacB64 is the reference HMAC a receiver computes, written out separately
// from Sign so that the test does not check Sign against itself.
func hmacB64(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
