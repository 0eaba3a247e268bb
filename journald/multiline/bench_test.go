package multiline

import "testing"

var benchRules = []struct{ name, spec string }{
	{"java", "java"},
	{"python", "python"},
	{"go", "go"},
	{"regex", `^\d{4}-\d{2}-\d{2} `},
}

// BenchmarkContinue costs the common case: an ordinary line after another, which
// the reader asks about for nearly every line it reads. The time is per line.
func BenchmarkContinue(b *testing.B) {
	for _, br := range benchRules {
		r, err := Parse(br.spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(br.name, func(b *testing.B) {
			// Each line is asked about in the state its predecessor began.
			states := make([]State, len(ordinary))
			for i := range ordinary {
				states[i] = r.Start(ordinary[(i+len(ordinary)-1)%len(ordinary)])
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				j := i % len(ordinary)
				r.Continue(states[j], ordinary[j])
			}
		})
	}
}

// BenchmarkStart costs the other call the reader makes for every ordinary line:
// each begins a record of its own.
func BenchmarkStart(b *testing.B) {
	for _, br := range benchRules {
		r, err := Parse(br.spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(br.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				r.Start(ordinary[i%len(ordinary)])
			}
		})
	}
}
