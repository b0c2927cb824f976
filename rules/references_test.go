package rules

import (
	"errors"
	"strings"
	"testing"
)

func TestSeverity(t *testing.T) {
	inputs := testInputs(t)
	for _, sev := range Severities {
		set, err := loadText(t, okRule+"severity = \""+sev+"\"\n", inputs)
		if err != nil || len(set.Warnings()) != 0 {
			t.Errorf("severity %q: err %v, warnings %v", sev, err, set.Warnings())
		}
	}

	// A near miss of a documented severity is a typo: an error, with a hint,
	// at the value's line and column.
	_, err := loadText(t, okRule+"severity = \"critcal\"\n", inputs)
	var re *Error
	if !errors.As(err, &re) || re.Warning || re.Key != "severity" || re.Line != 9 || re.Column != 13 ||
		!strings.Contains(re.Error(), `"critcal" is not a severity (did you mean "critical"?)`) {
		t.Errorf("severity critcal: %+v", err)
	}

	// Another word loads, with a warning that says what it costs.
	set, err := loadText(t, okRule+"severity = \"high\"\n", inputs)
	if err != nil {
		t.Fatalf("severity high: %v", err)
	}
	if w := set.Warnings(); len(w) != 1 || !w[0].Warning || w[0].Line != 9 ||
		!strings.Contains(w[0].Error(), `"high" is not one of the documented severities (critical, warning, info)`) {
		t.Errorf("severity high: warnings %v", w)
	}

	// With an error elsewhere, the warning is still reported, marked.
	_, err = loadText(t, okRule+"severity = \"high\"\nbogus = 1\n", inputs)
	var warned bool
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if re, ok := e.(*Error); ok && re.Warning {
			warned = true
		}
	}
	if !warned {
		t.Errorf("warning missing from a failed load: %v", err)
	}
}

func TestSinkReferences(t *testing.T) {
	sinks := WithSinks([]string{"pager", "chat"})
	text := okRule + "sinks = [\n  \"chat\",\n  \"kind:webhook\", \"pagr\",\n]\n"
	_, err := loadText(t, text, testInputs(t), sinks)
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("want *Error, got %v", err)
	}
	if re.Key != "sinks" || re.Line != 11 || re.Column != 20 || !strings.HasSuffix(re.File, "rules.toml") ||
		!strings.Contains(re.Error(), `no [[sink]] is named "pagr" (did you mean "pager"?) (sinks: pager, chat)`) {
		t.Errorf("Error = %+v: %v", re, re)
	}
	// Without WithSinks nothing is checked (rules test, which has no config).
	if _, err := loadText(t, text, testInputs(t)); err != nil {
		t.Errorf("without WithSinks: %v", err)
	}
	if _, err := loadText(t, okRule+"sinks = [\"pager\", \"kind:console\"]\n", testInputs(t), sinks); err != nil {
		t.Errorf("known name and kind: %v", err)
	}
}
