// Package docs reads Herald's user documentation (README.md and docs/*.md) the
// way its tests need to: fenced code blocks with the HTML comment that marks
// them, links, headings and their GitHub anchors, and the install walks.
//
// A block is marked by an HTML comment on the line before its fence:
//
//	<!-- fragment -->                    a piece of a config, not loaded on its own
//	<!-- walk:linux -->                  a step of the Linux install walk: run it
//	<!-- walk:windows file=C:\X\y.toml --> a step that writes the block to that file
//
// docs_test.go loads every toml block that is not a fragment, so no example
// in the documentation goes unchecked; a walk test runs the steps of a walk
// in order (Walk).
package docs

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Block is one fenced code block of a Markdown file.
type Block struct {
	// Lang is the info string after the opening fence: toml, sh, powershell...
	Lang string
	// Text is the block's content, with the fence's indentation removed, each
	// line ending in "\n".
	Text string
	// Line is the 1-based line of the opening fence.
	Line int
	// Mark is the HTML comment on the line before the fence, without "<!--"
	// and "-->" and trimmed ("fragment", "walk:linux file=/etc/x"), or "".
	Mark string
}

// Blocks returns the fenced (```) code blocks of md in order. Fences may be
// indented, as in a list item.
func Blocks(md string) []Block {
	var blocks []Block
	var cur *Block
	var indent, fence string
	prev := ""
	for i, l := range strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimLeft(l, " ")
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			indent = l[:len(l)-len(trimmed)]
			fence = "```"
			cur = &Block{Lang: strings.TrimSpace(strings.TrimPrefix(trimmed, fence)), Line: i + 1, Mark: comment(prev)}
		case cur != nil && strings.TrimSpace(l) == fence:
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.Text += strings.TrimPrefix(l, indent) + "\n"
		}
		prev = l
	}
	return blocks
}

// comment returns the text of an HTML comment that is the whole of line, or "".
func comment(line string) string {
	s := strings.TrimSpace(line)
	if !strings.HasPrefix(s, "<!--") || !strings.HasSuffix(s, "-->") {
		return ""
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "<!--"), "-->"))
}

// Fragment reports whether the block is marked as a fragment of a config.
func (b Block) Fragment() bool { return b.Mark == "fragment" }

// Step is one step of an install walk: a command block to run, or a file to
// write.
type Step struct {
	Block
	// File is the path the block's text is written to, for a step marked
	// file=PATH; empty for a command block, which is run in the walk's shell
	// (Lang: sh or powershell).
	File string
}

// Walk returns the steps of the walk called name ("linux", "windows") in md,
// in order: every block marked "walk:NAME", with file=PATH when given.
func Walk(md, name string) []Step {
	var steps []Step
	for _, b := range Blocks(md) {
		kind, rest, _ := strings.Cut(b.Mark, " ")
		if kind != "walk:"+name {
			continue
		}
		s := Step{Block: b}
		if f, ok := strings.CutPrefix(strings.TrimSpace(rest), "file="); ok {
			s.File = f
		}
		steps = append(steps, s)
	}
	return steps
}

// Link is a Markdown inline link [text](Target) outside code.
type Link struct {
	Target string
	Line   int
}

var (
	linkRE       = regexp.MustCompile(`\]\(([^()\s]+)\)`)
	inlineCodeRE = regexp.MustCompile("`[^`]*`")
)

// Links returns the inline links of md that are outside fenced blocks and
// inline code.
func Links(md string) []Link {
	var links []Link
	inFence := false
	for i, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		for _, m := range linkRE.FindAllStringSubmatch(inlineCodeRE.ReplaceAllString(l, ""), -1) {
			links = append(links, Link{Target: m[1], Line: i + 1})
		}
	}
	return links
}

// Anchors returns the anchors GitHub gives the headings of md: the heading's
// text in lower case, without punctuation, spaces as hyphens, a repeat
// suffixed -1, -2...
func Anchors(md string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	inFence := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "```") {
			inFence = !inFence
			continue
		}
		hashes := len(l) - len(strings.TrimLeft(l, "#"))
		if inFence || hashes == 0 || hashes > 6 || !strings.HasPrefix(l[hashes:], " ") {
			continue
		}
		a := slug(strings.TrimSpace(l[hashes:]))
		if n := seen[a]; n > 0 {
			anchors[a+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// slug is GitHub's heading anchor: letters, digits, '-' and '_' kept (in lower
// case), spaces made hyphens, everything else dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}
