package config

import (
	"testing"

	"github.com/BurntSushi/toml"
)

func TestScanPositions(t *testing.T) {
	const src = "\uFEFF# herald.toml\r\n" + // 1: BOM and CRLF line ends
		"top = 1\r\n" + // 2
		"[agent]\n" + // 3
		"  host = \"a # not a comment\" # comment\n" + // 4
		"data_dir.nested = 'x'\n" + // 5
		"[[input]]\n" + // 6
		`paths = ["a", 'b', """c` + "\n" + // 7
		`d""", [1, 2]]` + "\n" + // 8
		"[input.parser_options]\n" + // 9
		"\"quoted key\" = { x = 1, \"y\\u0021\" = [ { z = 2 } ] }\n" + // 10
		"[[input]]\n" + // 11
		"  name = '''\n" + // 12
		"multi '' line'''''\n" + // 13
		"[[input.rule]]\n" + // 14
		"id = 1\n" + // 15
		"[input.parser_options]\n" + // 16
		"k = { a = 1,\n" + // 17: TOML 1.1 multi-line inline table
		"      b = 2 }\n" + // 18
		"when = 1979-05-27 07:32:00Z\n" + // 19
		"\"é\" = \"ü\"\n" + // 20
		"[[sink]]\n" + // 21
		"tags = [\n" + // 22
		"  # comment, with [brackets]\n" + // 23
		"  \"t1\", # trailing\n" + // 24
		"]\n" + // 25
		"name = \"s\"\n" // 26

	want := map[string]position{
		"top":                                    {2, 1},
		"agent":                                  {3, 1},
		"agent.host":                             {4, 3},
		"agent.data_dir":                         {5, 1},
		"agent.data_dir.nested":                  {5, 1},
		"input":                                  {6, 1},
		"input[0]":                               {6, 1},
		"input[0].paths":                         {7, 1},
		"input[0].paths[0]":                      {7, 10},
		"input[0].paths[1]":                      {7, 15},
		"input[0].paths[2]":                      {7, 20},
		"input[0].paths[3]":                      {8, 7},
		"input[0].paths[3][1]":                   {8, 11},
		"input[0].parser_options":                {9, 1},
		`input[0].parser_options."quoted key"`:   {10, 1},
		`input[0].parser_options."quoted key".x`: {10, 18},
		`input[0].parser_options."quoted key"."y!"`:      {10, 25},
		`input[0].parser_options."quoted key"."y!"[0].z`: {10, 41},
		"input[1]":                     {11, 1},
		"input[1].name":                {12, 3},
		"input[1].rule[0]":             {14, 1},
		"input[1].rule[0].id":          {15, 1},
		"input[1].parser_options":      {16, 1},
		"input[1].parser_options.k.b":  {18, 7},
		"input[1].parser_options.when": {19, 1},
		`input[1].parser_options."é"`:  {20, 1},
		"sink[0]":                      {21, 1},
		"sink[0].tags[0]":              {24, 3},
		"sink[0].name":                 {26, 1},
	}
	var tree map[string]any
	if _, err := toml.Decode(src, &tree); err != nil {
		t.Fatalf("test document is not valid TOML: %v", err)
	}
	got := scanPositions([]byte(src))
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("position of %s = %v (found %v), want %v", k, g, ok, w)
		}
	}
	if _, ok := got["sink[0].tags[1]"]; ok {
		t.Errorf("a trailing comma made an array element up")
	}
}

func TestPositionsLookupFallsBackToTable(t *testing.T) {
	ps := scanPositions([]byte("[[input]]\nname = 'a'\n[[input]]\ntype = 'file'\n"))
	tests := []struct {
		path keyPath
		want position
	}{
		{keyPath{"input"}.index(1).key("paths"), position{3, 1}},
		{keyPath{"input"}.index(0).key("name"), position{2, 1}},
		{keyPath{"sink"}, position{}},
	}
	for _, tt := range tests {
		if got := ps.lookup(tt.path); got != tt.want {
			t.Errorf("lookup(%s) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
