package butlerimport

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzConvert converts fuzzed Butler files. Convert is deterministic (the
// same file gives the same bytes, env and notes) and either fails with an
// errors.Join of *Error values only, each naming the source and a line inside
// it, or returns a herald.toml and a rule file that are valid TOML, whatever
// text the Butler file carried into them.
func FuzzConvert(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte("Butler:\n  incidentTool:\n    signl4:\n      enable: true\n      url: 'https://connect.signl4.com/webhook/ab\"c\\n'\n      reloadTaskFailure:\n        enable: true\n        rateLimit: 30\n"), true)
	f.Add([]byte("Butler:\n  webhookNotification:\n    enable: true\n    reloadTaskFailure:\n      webhooks:\n        - description: \"'''\\u0000\"\n          webhookURL: http://u:p@x/?sig=$${A}&b='\n          httpMethod: POST\n"), false)
	f.Add([]byte("Butler: &a\n  x: *a\n"), false)
	f.Add([]byte("Butler:\n  Butler: 1\nButler: 2\n"), false)

	const source = "butler.yaml"
	f.Fuzz(func(t *testing.T, data []byte, inline bool) {
		opts := Options{Source: source, InlineSecrets: inline}
		res, err := Convert(data, opts)
		res2, err2 := Convert(data, opts)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !reflect.DeepEqual(res, res2) {
			t.Fatalf("Convert twice differs: %v / %v", err, err2)
		}
		lines := yamlLines(data)
		if err != nil {
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				var be *Error
				if !errors.As(e, &be) || e != error(be) {
					t.Fatalf("error %v (%T) is not a *butlerimport.Error", e, e)
				}
				if be.File != source || be.Line < 0 || be.Line > lines || be.Msg == "" {
					t.Fatalf("error %q: file %q line %d (the file has %d lines)", be, be.File, be.Line, lines)
				}
			}
			return
		}
		var v map[string]any
		if _, err := toml.Decode(string(res.Config), &v); err != nil {
			t.Fatalf("the herald.toml is not TOML: %v\n%s", err, res.Config)
		}
		if res.Rules != nil {
			if _, err := toml.Decode(string(res.Rules), &v); err != nil {
				t.Fatalf("the rule file is not TOML: %v\n%s", err, res.Rules)
			}
		}
	})
}

// yamlLines counts lines as YAML does: CR, LF, CRLF, NEL, LS and PS each
// end one.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return 1 + strings.Count(s, "\n") + strings.Count(s, "\r") +
		strings.Count(s, "\u0085") + strings.Count(s, "\u2028") + strings.Count(s, "\u2029")
}
