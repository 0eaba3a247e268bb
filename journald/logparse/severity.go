package logparse

import "strings"

// OpenTelemetry severity numbers.
const (
	sevTrace  = 1
	sevDebug  = 5
	sevInfo   = 9
	sevInfo2  = 10
	sevWarn   = 13
	sevError  = 17
	sevError2 = 18
	sevError3 = 19
	sevFatal  = 21
	sevMax    = 24
)

// bySyslog maps syslog priorities (0 emerg .. 7 debug) as the journal reader maps
// PRIORITY, so that a line's level field and the journal agree.
var bySyslog = [8]int{sevFatal, sevError3, sevError2, sevError, sevWarn, sevInfo2, sevInfo, sevDebug}

// use says where a level name is recognised.
type use uint8

const (
	// fieldOnly names are read in a level field only: as a text line's first word
	// they would be guesses ("I", "fine", "config").
	fieldOnly use = iota
	// anyCase names are also a text line's level word, in any case.
	anyCase
	// upperCase names are a text line's level word written in upper case only:
	// zerolog's and Serilog's three-letter levels (INF, WRN), which in lower case
	// are ordinary words ("err").
	upperCase
)

type level struct {
	sev int
	use use
}

// levels maps lower-case level names to severities: those of syslog, Go (zap,
// logrus, zerolog, klog's letters), Java (logback, java.util.logging), Python,
// .NET (Serilog, Microsoft.Extensions.Logging), nginx, and OpenTelemetry's own
// ("INFO2", "ERROR3").
var levels = func() map[string]level {
	m := map[string]level{
		"trace": {sevTrace, anyCase}, "trc": {sevTrace, upperCase},
		"finest": {sevTrace, fieldOnly}, "finer": {sevTrace, fieldOnly},
		"verbose": {sevTrace, fieldOnly}, "vrb": {sevTrace, upperCase},

		"debug": {sevDebug, anyCase}, "dbg": {sevDebug, upperCase},
		"fine": {sevDebug, fieldOnly}, "config": {sevDebug, fieldOnly},

		"info": {sevInfo, anyCase}, "inf": {sevInfo, upperCase},
		"information": {sevInfo, fieldOnly}, "informational": {sevInfo, fieldOnly},
		"notice": {sevInfo2, anyCase},

		"warn": {sevWarn, anyCase}, "warning": {sevWarn, anyCase}, "wrn": {sevWarn, upperCase},

		"error": {sevError, anyCase}, "err": {sevError, upperCase}, "eror": {sevError, fieldOnly},
		"severe": {sevError, upperCase},
		// zap's DPanic panics in development only; in production it is an error
		// worse than Error.
		"dpanic": {sevError2, fieldOnly},
		"crit":   {sevError2, anyCase}, "critical": {sevError2, anyCase},
		"alert": {sevError3, anyCase},

		"fatal": {sevFatal, anyCase}, "ftl": {sevFatal, upperCase}, "panic": {sevFatal, anyCase},
		"emerg": {sevFatal, anyCase}, "emergency": {sevFatal, anyCase},

		// klog, glog and Serilog's one-letter levels.
		"d": {sevDebug, fieldOnly}, "i": {sevInfo, fieldOnly}, "w": {sevWarn, fieldOnly},
		"e": {sevError, fieldOnly}, "f": {sevFatal, fieldOnly},
	}
	for name, sev := range map[string]int{"trace": sevTrace, "debug": sevDebug, "info": sevInfo, "warn": sevWarn, "error": sevError, "fatal": sevFatal} {
		for n := 2; n <= 4; n++ {
			m[name+string(rune('0'+n))] = level{sev + n - 1, fieldOnly}
		}
	}
	return m
}()

// lookupLevel finds name in levels, in any case.
func lookupLevel(name string) (level, bool) {
	var buf [16]byte
	if len(name) == 0 || len(name) > len(buf) {
		return level{}, false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lv, ok := levels[string(buf[:len(name)])]
	return lv, ok
}

// severityOf maps a level field's value, as written, to a severity; 0 when it
// is not a level it knows. Numbers, and strings that are numbers, are syslog
// priorities (0..7) or pino's and bunyan's levels (10, 20, .. 60).
func severityOf(v string) int {
	t := strings.TrimSpace(v)
	if lv, ok := lookupLevel(t); ok {
		return lv.sev
	}
	if n, ok := parseInt(t); ok {
		return severityOfNumber(n)
	}
	return slogSeverity(t)
}

func severityOfNumber(n int64) int {
	switch {
	case 0 <= n && n < int64(len(bySyslog)):
		return bySyslog[n]
	case n >= 10 && n <= 60 && n%10 == 0:
		return [...]int{sevTrace, sevDebug, sevInfo, sevWarn, sevError, sevFatal}[n/10-1]
	}
	return 0
}

// slogSeverity reads log/slog's names of the levels between its named ones,
// "INFO+2" or "DEBUG-4", and maps them as OpenTelemetry's slog bridge does:
// severity = slog level + 9, here kept within 1..24.
func slogSeverity(t string) int {
	k := strings.IndexAny(t, "+-")
	if k <= 0 {
		return 0
	}
	var base int64
	switch name := t[:k]; {
	case strings.EqualFold(name, "debug"):
		base = -4
	case strings.EqualFold(name, "info"):
		base = 0
	case strings.EqualFold(name, "warn"):
		base = 4
	case strings.EqualFold(name, "error"):
		base = 8
	default:
		return 0
	}
	off := t[k+1:]
	if len(off) == 0 || len(off) > 3 || !isDigit(off[0]) {
		return 0
	}
	n, ok := parseInt(off)
	if !ok {
		return 0
	}
	if t[k] == '-' {
		n = -n
	}
	return int(min(max(base+n+9, 1), sevMax))
}

// textLevel maps a text line's level word; see use.
func textLevel(word string) (int, bool) {
	lv, ok := lookupLevel(word)
	switch {
	case !ok || lv.use == fieldOnly:
		return 0, false
	case lv.use == upperCase && !isUpper(word):
		return 0, false
	}
	return lv.sev, true
}

// isUpper reports whether s has no lower-case ASCII letter.
func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return false
		}
	}
	return true
}
