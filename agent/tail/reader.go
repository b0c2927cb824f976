package tail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// readLine reads one line from br: up to and including "\n", or to EOF. It
// returns at most keep bytes of it (the rest is read and dropped, so a
// runaway line costs no more memory than that), the number of bytes consumed
// and whether the line ended with "\n".
//
// A complete line that fits in br's buffer, the common case, is returned as
// a slice of that buffer, valid until the next read from br: the caller that
// turns it into a string copies it once, not twice. Any other line is
// assembled in *scratch (when scratch is not nil), which keeps its capacity
// for the next such line.
func readLine(br *bufio.Reader, keep int, scratch *[]byte) (text []byte, n int64, complete bool, err error) {
	chunk, err := br.ReadSlice('\n')
	if err == nil && len(chunk) <= keep {
		return chunk, int64(len(chunk)), true, nil
	}
	if scratch != nil {
		text = (*scratch)[:0]
		defer func() { *scratch = text }()
	}
	for {
		n += int64(len(chunk))
		if room := keep - len(text); room > 0 {
			text = append(text, chunk[:min(room, len(chunk))]...)
		}
		switch {
		case err == nil:
			if text[len(text)-1] != '\n' { // cut before the terminator: put it back
				text = append(text[:len(text)-1], '\n')
			}
			return text, n, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			chunk, err = br.ReadSlice('\n')
		default:
			return text, n, false, err
		}
	}
}

// readHeader returns the file's first line, found within its first limit
// bytes, without terminator and BOM, cut to max bytes.
func readHeader(r io.ReaderAt, limit int64, max int) (string, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, limit), 64<<10)
	text, _, complete, err := readLine(br, max+8, nil)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the first line: %w", err)
	}
	if complete {
		text = text[:len(text)-1]
	}
	s := strings.TrimPrefix(strings.TrimSuffix(string(text), "\r"), bom)
	if len(s) > max {
		s = s[:runeCut(s, max)]
	}
	return s, nil
}

// lastLineEnd returns the offset just past the last "\n" in the first size
// bytes of r, or 0 when there is none: where "start at the end" starts, so
// that an incomplete last line is read whole once it is complete.
func lastLineEnd(r io.ReaderAt, size int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(end-chunk, 0)
		b := buf[:end-start]
		if _, err := r.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("find the last line: %w", err)
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}
