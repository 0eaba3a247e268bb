package multiline

import "testing"

func TestGoSamples(t *testing.T) {
	testSamples(t, golang{}, []sample{
		// GOTRACEBACK=all under go run: four goroutines and "exit status 2",
		// then the restarted program's first line.
		{"go_index_out_of_range.txt", []int{1, 2, 28}},
		{"go_concurrent_map_writes.txt", []int{1, 2, 11}},
		// net/http's recovered panic (a log line and a goroutine's stack), then
		// the program's own nil dereference with [signal SIGSEGV ...]: two
		// records, since an unindented "panic: " after stacks is a new crash.
		{"go_nil_pointer.txt", []int{1, 2, 20, 28}},
		// "runtime: " lines before "fatal error: stack overflow", "runtime
		// stack:", GOTRACEBACK=system's "goroutine 1 gp=... m=... mp=..." and
		// "...44739045 frames elided...".
		{"go_stack_overflow.txt", []int{1, 2, 280}},
		// kill -QUIT: every goroutine, then the registers.
		{"go_sigquit.txt", []int{1, 2, 132}},
	})
}

func TestGo(t *testing.T) {
	testJoin(t, golang{}, []joinCase{{
		name:  "ordinary lines stay apart",
		lines: ordinary,
		want:  ordinary,
	}, {
		name:  "indented lines stay apart",
		lines: []string{"totals:", "  orders   42", "\trefunds  3"},
		want:  []string{"totals:", "  orders   42", "\trefunds  3"},
	}, {
		name: "a recovered and repanicked panic",
		lines: []string{
			"panic: boom [recovered]",
			"\tpanic: boom again",
			"",
			"goroutine 1 [running]:",
			"main.main.func1()",
			"\t/app/main.go:9 +0x55",
			"panic({0x4a1b20?, 0xc000012345?})",
			"\t/usr/local/go/src/runtime/panic.go:785 +0x132",
			"main.main()",
			"\t/app/main.go:12 +0x4b",
			"[originating from goroutine 1]:",
			"...additional frames elided...",
			`{"level":"info","msg":"restarted"}`,
		},
		want: []string{
			"panic: boom [recovered]\n\tpanic: boom again\n\ngoroutine 1 [running]:\nmain.main.func1()\n\t/app/main.go:9 +0x55\n" +
				"panic({0x4a1b20?, 0xc000012345?})\n\t/usr/local/go/src/runtime/panic.go:785 +0x132\nmain.main()\n\t/app/main.go:12 +0x4b\n" +
				"[originating from goroutine 1]:\n...additional frames elided...",
			`{"level":"info","msg":"restarted"}`,
		},
	}, {
		name: "a fatal error reported twice before the stacks",
		lines: []string{
			"fatal error: concurrent map writes",
			"fatal error: concurrent map writes",
			"",
			"goroutine 7 [running]:",
			"fatal error: all goroutines are asleep - deadlock!",
		},
		want: []string{
			"fatal error: concurrent map writes\nfatal error: concurrent map writes\n\ngoroutine 7 [running]:",
			"fatal error: all goroutines are asleep - deadlock!",
		},
	}, {
		name: "a goroutine's stack joins the line before it",
		lines: []string{
			"2026/12/02 15:55:30 recovered: boom",
			"goroutine 5 [running]:",
			"runtime/debug.Stack()",
			"\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e",
			"2026/12/02 15:55:31 next",
		},
		want: []string{
			"2026/12/02 15:55:30 recovered: boom\ngoroutine 5 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e",
			"2026/12/02 15:55:31 next",
		},
	}, {
		name: "ordinary lines after a panic stay apart",
		lines: append([]string{
			"panic: boom",
			"",
			"goroutine 1 [running]:",
			"main.main()",
			"\t/app/main.go:5 +0x25",
		}, ordinary[:len(ordinary)-1]...),
		want: append([]string{
			"panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25",
		}, ordinary[:len(ordinary)-1]...),
	}})
}

func TestGoLines(t *testing.T) {
	for _, tc := range []struct {
		f    func(string) bool
		name string
		line string
		want bool
	}{
		{goFunc, "goFunc", "main.main()", true},
		{goFunc, "goFunc", "net/http.(*conn).serve(0xc000128000, {0x77bbe0, 0xc00011d020})", true},
		{goFunc, "goFunc", "main.(*order).item(...)", true},
		{goFunc, "goFunc", "main.Map[...](0xc0000, 0x1)", true},
		{goFunc, "goFunc", "panic({0x6f8ee0?, 0x9fdca0?})", true},
		{goFunc, "goFunc", "2026/12/02 15:55:29 listening on :8080 (pid 1)", false},
		{goFunc, "goFunc", "main.go:12: retrying (attempt 2)", false},
		{goFunc, "goFunc", "(x)", false},
		{goFunc, "goFunc", "oops(x)", false},
		{goFunc, "goFunc", "main.main() trailing", false},
		{goroutineHeader, "goroutineHeader", "goroutine 7 [chan receive, 2 minutes]:", true},
		{goroutineHeader, "goroutineHeader", "goroutine 1 gp=0xc000002380 m=0 mp=0x5a6aa0 [running]:", true},
		{goroutineHeader, "goroutineHeader", "goroutine leak detected in worker pool", false},
		{goroutineHeader, "goroutineHeader", "goroutine 7 [running]", false},
		{goRegister, "goRegister", "rax    0xfffffffffffffffc", true},
		{goRegister, "goRegister", "rflags 0x246", true},
		{goRegister, "goRegister", "r8     0x0", true},
		{goRegister, "goRegister", "rax    0x", false},
		{goRegister, "goRegister", "rax0x1", false},
		{goRegister, "goRegister", "status 0xZZ", false},
		{goRegister, "goRegister", "connections 0x1", false},
		{goSignal, "goSignal", "SIGQUIT: quit", true},
		{goSignal, "goSignal", "SIGSEGV: segmentation violation", true},
		{goSignal, "goSignal", "SIG: x", false},
		{goSignal, "goSignal", "SIGNAL received, shutting down", false},
	} {
		if got := tc.f(tc.line); got != tc.want {
			t.Errorf("%s(%q) = %v, want %v", tc.name, tc.line, got, tc.want)
		}
	}
}
