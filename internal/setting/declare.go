package setting

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Each setting is declared once, by the component it belongs to: its flag, YAML key,
// environment variable, default, help and the Go value it fills. The configuration
// assembly builds the flags, reads the file and the environment and writes the docs
// table from the declarations alone, so a setting cannot exist in one of those places
// and not in another.

// Kind is the type of a setting's value.
type Kind int

// The kinds of value a setting holds.
const (
	String Kind = iota
	Strings
	Int
	Bool
	Duration
)

// Source is where a setting's value came from; a stronger source has a larger value.
type Source int

// The sources of a value, weakest first: flags win over the file, the file over the
// environment, the environment over defaults.
const (
	FromDefault Source = iota
	FromEnv
	FromFile
	FromFlag
)

// Set holds the declarations, in the order they were made (the order of --help and
// of the docs table).
type Set struct {
	list []*Setting
	byFl map[string]*Setting
}

// Setting is one declared setting.
type Setting struct {
	// Flag is the flag's name without its dashes, such as journal.batch-size.
	Flag string
	// Key is the YAML key as section.name, such as journal.batch_size; "" when the
	// setting has no key in the file.
	Key string
	// Env is the environment variable read when neither a flag nor the file sets
	// the setting; "" for none.
	Env string
	// Help says what the setting does, for --help and the docs.
	Help string
	// Doc adds what only the docs say (limits, examples); may be empty.
	Doc string
	// Default is the value's text as a flag would give it; "" for none. Defaults
	// holds each value of a repeatable setting's default.
	Default  string
	Defaults []string
	Kind     Kind
	// From is where the value came from, set by the configuration assembly as it
	// applies each source; FromDefault until then. A component that combines two
	// settings (a signal's own OTLP endpoint and the general one) compares them by it.
	From Source

	str  *string
	strs *[]string
	num  *int
	flag *bool
	dur  *time.Duration
	// fromEnv turns the variable's text into the value's text (or texts, for
	// Strings); nil takes it as it is.
	fromEnv func(string) ([]string, error)
}

func (s *Set) add(d *Setting) *Setting {
	if s.byFl == nil {
		s.byFl = map[string]*Setting{}
	}
	if _, dup := s.byFl[d.Flag]; dup {
		panic("setting: " + d.Flag + " declared twice") // a programming error, caught by any test
	}
	d.Key = keyOf(d.Flag)
	s.byFl[d.Flag] = d
	s.list = append(s.list, d)
	return d
}

// keyOf derives the YAML key from the flag: the first dot separates the section,
// and the rest's dots and dashes become underscores (otlp.metrics.interval is
// otlp.metrics_interval).
func keyOf(flag string) string {
	section, rest, ok := strings.Cut(flag, ".")
	if !ok {
		return ""
	}
	return section + "." + strings.NewReplacer(".", "_", "-", "_").Replace(rest)
}

// String declares a string setting.
func (s *Set) String(p *string, flag, help, def string) *Setting {
	return s.add(&Setting{Flag: flag, Help: help, Default: def, Kind: String, str: p})
}

// Strings declares a repeatable setting; each flag adds one value.
func (s *Set) Strings(p *[]string, flag, help string, def ...string) *Setting {
	return s.add(&Setting{Flag: flag, Help: help, Default: strings.Join(def, ","), Defaults: def, Kind: Strings, strs: p})
}

// Int declares an integer setting.
func (s *Set) Int(p *int, flag, help string, def int) *Setting {
	return s.add(&Setting{Flag: flag, Help: help, Default: strconv.Itoa(def), Kind: Int, num: p})
}

// Bool declares a switch (--name, --no-name).
func (s *Set) Bool(p *bool, flag, help string, def bool) *Setting {
	return s.add(&Setting{Flag: flag, Help: help, Default: strconv.FormatBool(def), Kind: Bool, flag: p})
}

// Duration declares a duration setting.
func (s *Set) Duration(p *time.Duration, flag, help string, def time.Duration) *Setting {
	return s.add(&Setting{Flag: flag, Help: help, Default: formatDuration(def), Kind: Duration, dur: p})
}

// formatDuration writes 60s as 1m0s would be written by hand: 1m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// WithKey sets the YAML key when it is not derived from the flag (plural keys of
// repeatable flags); "" leaves the setting out of the file.
func (d *Setting) WithKey(key string) *Setting { d.Key = key; return d }

// WithEnv names the environment variable the setting falls back to; convert, when
// not nil, turns its text into the value's text(s).
func (d *Setting) WithEnv(name string, convert func(string) ([]string, error)) *Setting {
	d.Env, d.fromEnv = name, convert
	return d
}

// WithDoc adds text for the docs table only.
func (d *Setting) WithDoc(doc string) *Setting { d.Doc = doc; return d }

// All returns the declarations in order.
func (s *Set) All() []*Setting { return s.list }

// Lookup finds a declaration by flag name.
func (s *Set) Lookup(flag string) (*Setting, bool) {
	d, ok := s.byFl[flag]
	return d, ok
}

// Set parses text into the value as a flag would; a repeatable setting gets one more
// value. The error names the flag.
func (d *Setting) Set(text string) error {
	switch d.Kind {
	case String:
		*d.str = text
	case Strings:
		*d.strs = append(*d.strs, text)
	case Int:
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return &Error{Setting: "--" + d.Flag, Problem: fmt.Sprintf("%q is not a whole number", text), Fix: "write digits only, such as " + d.exampleInt()}
		}
		*d.num = n
	case Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return &Error{Setting: "--" + d.Flag, Problem: fmt.Sprintf("%q is not true or false", text), Fix: "write true or false"}
		}
		*d.flag = b
	case Duration:
		v, err := time.ParseDuration(text)
		if err != nil {
			return &Error{Setting: "--" + d.Flag, Problem: fmt.Sprintf("%q is not a duration", text), Fix: "write a number with a unit, such as 10s, 500ms or 1m30s"}
		}
		*d.dur = v
	}
	return nil
}

func (d *Setting) exampleInt() string {
	if d.Default != "" && d.Default != "0" {
		return d.Default
	}
	return "100"
}

// Replace sets the value to texts, dropping what a default or a weaker source put
// there: the file and the environment replace a repeatable setting's values, flags
// add to each other.
func (d *Setting) Replace(texts []string) error {
	if d.Kind == Strings {
		*d.strs = nil
	}
	for _, t := range texts {
		if err := d.Set(t); err != nil {
			return err
		}
	}
	return nil
}

// FromEnv returns the texts the environment variable's value stands for.
func (d *Setting) FromEnv(v string) ([]string, error) {
	if d.fromEnv != nil {
		return d.fromEnv(v)
	}
	return []string{v}, nil
}

// String is the value's current text, for --help.
func (d *Setting) String() string {
	switch d.Kind {
	case String:
		return *d.str
	case Strings:
		return strings.Join(*d.strs, ",")
	case Int:
		return strconv.Itoa(*d.num)
	case Bool:
		return strconv.FormatBool(*d.flag)
	case Duration:
		return d.dur.String()
	}
	return ""
}

// IsBoolFlag lets a Bool setting be given as --name and --no-name.
func (d *Setting) IsBoolFlag() bool { return d.Kind == Bool }

// IsCumulative lets a Strings setting be given several times.
func (d *Setting) IsCumulative() bool { return d.Kind == Strings }
