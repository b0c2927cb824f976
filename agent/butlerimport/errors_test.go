package butlerimport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // each error's text, in order
	}{
		{
			name: "bad indentation",
			yaml: "Butler:\n  logLevel: info\n   fileLogging: true\n",
			want: []string{"b.yaml:3: not valid YAML: mapping values are not allowed in this context"},
		},
		{
			name: "tab indentation",
			yaml: "Butler:\n\tlogLevel: info\n",
			want: []string{"b.yaml:2: not valid YAML: found character that cannot start any token"},
		},
		{
			name: "duplicate key",
			yaml: "Butler:\n  incidentTool: {}\n  incidentTool: {}\n",
			want: []string{`b.yaml:3: not valid YAML: mapping key "incidentTool" already defined at line 2`},
		},
		{
			name: "empty",
			yaml: "# nothing here\n",
			want: []string{"b.yaml: not a Butler config: the file is empty"},
		},
		{
			name: "other tool",
			yaml: "server:\n  port: 80\nlogging: {}\n",
			want: []string{"b.yaml:1: not a Butler config: it has no top-level key Butler (its top-level keys: server, logging)"},
		},
		{
			name: "list",
			yaml: "- Butler\n",
			want: []string{"b.yaml:1: not a Butler config: expected a mapping with the key Butler at the top"},
		},
		{
			name: "Butler not a mapping",
			yaml: "Butler: yes\n",
			want: []string{"b.yaml:1: Butler: not a Butler config: Butler is not a mapping of settings"},
		},
		{
			name: "wrong types, all reported",
			yaml: `Butler:
  incidentTool:
    signl4:
      enable: true
      url: [https://connect.signl4.com/webhook/x]
      reloadTaskFailure:
        enable: true
        rateLimit: five minutes
  webhookNotification:
    enable: true
    reloadTaskFailure:
      webhooks:
        - webhookURL: https://hooks.lab.local/x
          httpMethod: POST
          cert:
            enable: "yes"
    reloadTaskAborted:
      webhooks: https://hooks.lab.local/y
`,
			want: []string{
				`b.yaml:8: Butler.incidentTool.signl4.reloadTaskFailure.rateLimit: expected a number of seconds, got "five minutes"`,
				`b.yaml:16: Butler.webhookNotification.reloadTaskFailure.webhooks[0].cert.enable: expected true or false, got "yes"`,
				`b.yaml:18: Butler.webhookNotification.reloadTaskAborted.webhooks: expected a list, got "https://hooks.lab.local/y"`,
			},
		},
		{
			name: "url not a value",
			yaml: "Butler:\n  incidentTool:\n    signl4:\n      enable: true\n      url: {a: b}\n      reloadTaskAborted: {enable: true}\n",
			want: []string{"b.yaml:5: Butler.incidentTool.signl4.url: expected a single value, got a mapping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Convert([]byte(tt.yaml), Options{Source: "b.yaml"})
			if err == nil {
				t.Fatalf("no error; output:\n%s", res.Document())
			}
			var got []string
			for _, e := range unjoin(err) {
				var be *Error
				if !errors.As(e, &be) {
					t.Errorf("%v is a %T, not an *Error", e, e)
				}
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestSecrets checks that secrets from URLs in the Butler file reach neither
// the generated files nor the messages, unless inlined on purpose, and then
// only the files.
func TestSecrets(t *testing.T) {
	secrets := map[string][]string{
		"butler": {"q7xk2m9wpl", "t0k3n-5ecr3t"},
		"edge":   {"t3am-s3cret", "pa55word", "p0w3r-s1g"},
	}
	for name, list := range secrets {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range list {
				if !strings.Contains(string(data), s) {
					t.Fatalf("testdata/%s.yaml does not contain %q", name, s)
				}
			}
			hidden := convertFile(t, name, Options{})
			inline := convertFile(t, name, Options{InlineSecrets: true})
			for _, s := range list {
				if strings.Contains(string(hidden.Document()), s) {
					t.Errorf("the generated files contain the secret %q", s)
				}
				if !strings.Contains(string(inline.Document()), s) {
					t.Errorf("with InlineSecrets the generated files lack the secret %q", s)
				}
				for _, m := range append(hidden.Messages(), inline.Messages()...) {
					if strings.Contains(m, s) {
						t.Errorf("message shows the secret %q: %s", s, m)
					}
				}
			}
		})
	}
}
