package config

import "strings"

// Locate returns where the value at key is written in the TOML document src,
// key being a path as messages print it (input[0].paths[1]): its 1-based line
// and column, or those of its nearest enclosing key that has a place; 0, 0
// when none is known. It lets a command that finds a problem with a loaded
// value (herald check: a paths pattern that matches no file) point at it.
func Locate(src []byte, key string) (line, col int) {
	ps := scanPositions(src)
	for {
		if pos, ok := ps[key]; ok {
			return pos.line, pos.col
		}
		i := strings.LastIndexAny(key, ".[")
		if i <= 0 {
			return 0, 0
		}
		key = key[:i]
	}
}
