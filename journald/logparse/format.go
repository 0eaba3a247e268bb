package logparse

import "strconv"

var formatNames = [...]string{Raw: "raw", Text: "text", JSON: "json", Logfmt: "logfmt", Auto: "auto"}

// ParseFormat reads a format name as configuration writes it: "raw", "text",
// "json", "logfmt" or "auto" (lower case, as String writes them).
func ParseFormat(s string) (Format, bool) {
	for f, name := range formatNames {
		if s == name {
			return Format(f), true
		}
	}
	return Raw, false
}

// String is the format's name, as ParseFormat reads it.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}
