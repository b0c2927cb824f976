package privatedir

import "testing"

func TestSDDL(t *testing.T) {
	tests := []struct {
		accounts []string
		want     string
	}{
		{nil, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"},
		{[]string{"S-1-5-80-1"}, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;S-1-5-80-1)"},
	}
	for _, tt := range tests {
		if got := SDDL(tt.accounts...); got != tt.want {
			t.Errorf("SDDL(%q) = %s, want %s", tt.accounts, got, tt.want)
		}
	}
}
