package main

import "testing"

func TestSplitHint(t *testing.T) {
	tests := []struct{ msg, message, hint string }{
		{`unknown key (did you mean "log_level"?)`, "unknown key", `did you mean "log_level"?`},
		{`unknown key (keys are case-sensitive: did you mean "name"?)`, "unknown key", `keys are case-sensitive: did you mean "name"?`},
		{`no [[sink]] is named "pagr" (did you mean "pager"?) (sinks: pager, hook)`, `no [[sink]] is named "pagr" (sinks: pager, hook)`, `did you mean "pager"?`},
		{"url: required", "url: required", ""},
	}
	for _, tt := range tests {
		if message, hint := splitHint(tt.msg); message != tt.message || hint != tt.hint {
			t.Errorf("splitHint(%q) = %q, %q; want %q, %q", tt.msg, message, hint, tt.message, tt.hint)
		}
	}
}
