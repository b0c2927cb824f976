package tail

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// fingerprintBytes is how much of a file's head a fingerprint covers at most.
// Every Qlik file starts with the same header line, so the head must reach
// into the first records (sequence numbers, timestamps) to tell files apart.
const fingerprintBytes = 1024

// headPrint is the fingerprint of the first n bytes of a file: the length and
// a SHA-256 prefix of those bytes. It is written "n:hex".
//
// A position's fingerprint covers min(offset, 1024) bytes. When the offset is
// within the first 1024 bytes it covers every byte before the offset, so a
// file whose fingerprint matches has exactly the content that was read, and
// resuming is right even if it is another file with the same beginning.
type headPrint struct {
	n   int64
	sum [16]byte
}

func (p headPrint) String() string {
	return strconv.FormatInt(p.n, 10) + ":" + hex.EncodeToString(p.sum[:])
}

func parseHeadPrint(s string) (headPrint, error) {
	ns, hx, ok := strings.Cut(s, ":")
	var p headPrint
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || n < 0 || n > fingerprintBytes || hex.DecodedLen(len(hx)) != len(p.sum) {
		return p, fmt.Errorf("malformed fingerprint %q", s)
	}
	if _, err := hex.Decode(p.sum[:], []byte(hx)); err != nil {
		return p, fmt.Errorf("malformed fingerprint %q", s)
	}
	p.n = n
	return p, nil
}

// fingerprint hashes the first n bytes of r; it fails if r is shorter.
func fingerprint(r io.ReaderAt, n int64) (headPrint, error) {
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return headPrint{}, fmt.Errorf("read the first %d bytes: %w", n, err)
	}
	full := sha256.Sum256(buf)
	p := headPrint{n: n}
	copy(p.sum[:], full[:])
	return p, nil
}

// fingerprinter caches the fingerprint of one file's head as its offset grows.
type fingerprinter struct {
	r   io.ReaderAt
	cur headPrint
	ok  bool
	str string // cur.String(), made once: every line of a file past its first 1024 bytes has the same
}

// text returns the fingerprint that goes with offset off, as Event.Fingerprint.
func (p *fingerprinter) text(off int64) (string, error) {
	if p.str != "" && p.cur.n == min(off, fingerprintBytes) {
		return p.str, nil // every line past the first 1024 bytes of a file
	}
	fp, err := p.at(off)
	if err != nil {
		return "", err
	}
	if p.str == "" {
		p.str = fp.String()
	}
	return p.str, nil
}

// at returns the fingerprint that goes with offset off.
func (p *fingerprinter) at(off int64) (headPrint, error) {
	n := min(off, fingerprintBytes)
	if p.ok && p.cur.n == n {
		return p.cur, nil
	}
	fp, err := fingerprint(p.r, n)
	if err != nil {
		return headPrint{}, err
	}
	p.cur, p.ok, p.str = fp, true, ""
	return fp, nil
}

func (p *fingerprinter) reset() { p.ok, p.str = false, "" }

// verify reports whether a saved position fits the file: the offset is within
// it and its head still has the saved fingerprint. why says what did not fit.
// A position without a fingerprint fits when its offset does.
func verify(r io.ReaderAt, size int64, pos Position) (ok bool, why string, err error) {
	if pos.Offset < 0 || pos.Offset > size {
		return false, fmt.Sprintf("saved offset %d is beyond the file's size %d", pos.Offset, size), nil
	}
	if pos.Fingerprint == "" {
		return true, "", nil
	}
	want, err := parseHeadPrint(pos.Fingerprint)
	if err != nil {
		return false, err.Error(), nil
	}
	if want.n > size {
		return false, fmt.Sprintf("file is shorter (%d bytes) than its saved fingerprint", size), nil
	}
	got, err := fingerprint(r, want.n)
	if err != nil {
		return false, "", err
	}
	if got != want {
		return false, "the file's first bytes differ from the saved fingerprint", nil
	}
	return true, "", nil
}
