package amlabels

import "testing"

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"TaskName": "TaskName", "task-name": "task_name", "1st": "_1st", "": "_", "a.b c": "a_b_c", "ü": "__",
	} {
		if got := Sanitize(in); got != want || !ValidName(got) {
			t.Errorf("Sanitize(%q) = %q (valid %v), want %q", in, got, ValidName(got), want)
		}
	}
	for _, bad := range []string{"", "1a", "a-b", "a b", "ä"} {
		if ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
}

// TestFingerprint pins values computed by prometheus/common's
// model.LabelSet.Fingerprint (the webhook sink's tests compare with it too).
func TestFingerprint(t *testing.T) {
	if got := Fingerprint(nil); got != "cbf29ce484222325" {
		t.Errorf("empty: %s", got)
	}
	if got, again := Fingerprint(map[string]string{"alertname": "a", "host": "h"}), Fingerprint(map[string]string{"host": "h", "alertname": "a"}); got != again {
		t.Errorf("order changes the fingerprint: %s %s", got, again)
	}
}
