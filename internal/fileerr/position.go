package fileerr

import (
	"strings"
	"unicode/utf8"
)

// Position returns the 1-based line and column (in characters) of the byte
// at offset in text, counting "\n" as the end of a line. An offset past the
// end is placed just after the last character.
//
// Decoders whose own line numbers are off for some inputs (BurntSushi/toml
// reports line 0 for a string cut by "\r\n" on the first line) report a byte
// offset that is right; this turns it into what an editor shows.
func Position(text string, offset int) (line, col int) {
	offset = max(0, min(offset, len(text)))
	before := text[:offset]
	start := strings.LastIndexByte(before, '\n') + 1
	return strings.Count(before, "\n") + 1, utf8.RuneCountInString(before[start:]) + 1
}
