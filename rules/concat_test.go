package rules

import (
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

var concatEnv = map[string]any{"TaskName": "", "AppName": "", "AppId": "", "Count": 0, "M": map[string]any{}}

func compileConcat(t testing.TB, src string, patch bool) *vm.Program {
	t.Helper()
	opts := []expr.Option{expr.Env(concatEnv)}
	if patch {
		opts = append(opts, concatOptions()...)
	}
	p, err := expr.Compile(src, opts...)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	return p
}

// concatCalls counts the calls of concatName in p and their arguments.
func concatCalls(p *vm.Program) (calls, args int) {
	node := p.Node()
	ast.Walk(&node, visitor(func(n ast.Node) {
		if c, ok := n.(*ast.CallNode); ok {
			if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == concatName {
				calls++
				args += len(c.Arguments)
			}
		}
	}))
	return calls, args
}

// TestConcatPatch: a chain of three or more strings becomes one call, with
// the parts of nested chains as its arguments, and gives what the chain gives;
// anything else is left as it is.
func TestConcatPatch(t *testing.T) {
	envs := []map[string]any{
		{"TaskName": "Reload Sales", "AppName": "Sales", "AppId": "3f1c", "Count": 2},
		{"TaskName": "", "AppName": "", "AppId": "", "Count": 0},
		{"TaskName": "日本 \x00", "AppName": "\xff", "AppId": "a\"b", "Count": -1},
	}
	for _, tt := range []struct {
		src         string
		calls, args int
	}{
		{`"Reload task \"" + TaskName + "\" failed" + (AppName != "" ? " for app \"" + AppName + "\"" : "") + "."`, 2, 8},
		{`"a" + TaskName + ("b" + AppName) + AppId`, 1, 5},
		{`TaskName + AppName + AppId`, 1, 3},
		{`trim("a" + TaskName + "b")`, 1, 3},
		{`"a" + TaskName`, 0, 0},
		{`Count + 1 + 2`, 0, 0},
		{`TaskName + AppName + string(Count)`, 1, 3},
		{`"a" + TaskName + "b" == "aReload Salesb"`, 1, 3},
	} {
		patched, plain := compileConcat(t, tt.src, true), compileConcat(t, tt.src, false)
		if calls, args := concatCalls(patched); calls != tt.calls || args != tt.args {
			t.Errorf("%s: %d calls with %d arguments, want %d with %d", tt.src, calls, args, tt.calls, tt.args)
		}
		for _, env := range envs {
			got, err1 := expr.Run(patched, env)
			want, err2 := expr.Run(plain, env)
			if got != want || (err1 == nil) != (err2 == nil) {
				t.Errorf("%s with %v: %v (%v), want %v (%v)", tt.src, env, got, err1, want, err2)
			}
		}
	}
}

// TestConcatNotPatched: a chain with a part of no known type (a value of
// a map of any) keeps +, and with it +'s behaviour and errors.
func TestConcatNotPatched(t *testing.T) {
	for _, src := range []string{`"a" + M.v + "b"`, `M.v + TaskName + AppName`} {
		p := compileConcat(t, src, true)
		if calls, _ := concatCalls(p); calls != 0 {
			t.Errorf("%s: patched", src)
		}
		env := map[string]any{"TaskName": "t", "AppName": "n", "AppId": "", "Count": 0, "M": map[string]any{"v": "x"}}
		if v, err := expr.Run(p, env); err != nil || (v != "axb" && v != "xtn") {
			t.Errorf("%s with M.v = x: %v, %v", src, v, err)
		}
		env["M"] = map[string]any{"v": 1}
		if _, err := expr.Run(p, env); err == nil {
			t.Errorf("%s with M.v = 1: no error", src)
		}
	}
	// The function falls back to + for a value that is not a string.
	if v, err := concatFunc("a", "b", "c"); err != nil || v != "abc" {
		t.Errorf("concatFunc = %v, %v", v, err)
	}
	if v, err := concatFunc(1, 2, 3); err != nil || v != 6 {
		t.Errorf("concatFunc(1, 2, 3) = %v, %v; want what + gives", v, err)
	}
}

// BenchmarkConcat evaluates the qliksense pack's kind of message with and
// without the patch.
func BenchmarkConcat(b *testing.B) {
	src := `"Reload task \"" + TaskName + "\" failed" + (AppName != "" ? " for app \"" + AppName + "\"" : "")
		+ (AppId != "" ? " (app id " + AppId + ")" : "") + ", reported by the scheduler on QS-NODE1." + " Execution 0f7b6f8e-3a55-4d8f-9e0c-2b1f9d3c7a11."
		+ (AppId != "" ? " Script log: %ProgramData%\\Qlik\\Sense\\Log\\Script\\" + AppId + ".*.log on the node that ran the reload." : "")`
	env := map[string]any{"TaskName": "Reload Sales dashboard", "AppName": "Sales dashboard", "AppId": "5c7f2f5a-6d2b-4a39-a8a5-2f0b0e1f5d3c", "Count": 0, "M": nil}
	for _, patch := range []bool{false, true} {
		p := compileConcat(b, src, patch)
		name := map[bool]string{false: "plus", true: "patched"}[patch]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var m vm.VM
			for b.Loop() {
				if _, err := m.Run(p, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
