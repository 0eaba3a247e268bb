package logparse

// parseText finds a plain line's level: a level word, possibly after up to two
// tokens that start with a digit (a date and a time), written as it is, in
// [brackets], or followed by ':' ("WARNING:root:..."); or a klog/glog header
// ("E0102 15:04:05.000000 ..."). One [bracketed] token that is not a level may
// come before the word, for logback's "12:00:00.123 [main] INFO ...". The whole
// word must match: "Errors" is not a level. It allocates nothing.
func parseText(s string) Line {
	i := skipBlank(s, 0)
	if sev, ok := klogHeader(s[i:]); ok {
		return Line{Format: Text, Severity: sev, SeverityText: s[i : i+1]}
	}
	for n := 0; n < 2 && i < len(s) && isDigit(s[i]); n++ {
		i = skipBlank(s, skipToken(s, i))
	}
	if l, ok := levelWord(s, i); ok {
		return l
	}
	if i < len(s) && s[i] == '[' {
		end := skipToken(s, i)
		if s[end-1] == ']' {
			if l, ok := levelWord(s, skipBlank(s, end)); ok {
				return l
			}
		}
	}
	return Line{}
}

// levelWord reads the level word at s[i:].
func levelWord(s string, i int) (Line, bool) {
	bracket := i < len(s) && s[i] == '['
	if bracket {
		i++
	}
	j := i
	for j < len(s) && isLetter(s[j]) {
		j++
	}
	word := s[i:j]
	if bracket {
		if j == len(s) || s[j] != ']' {
			return Line{}, false
		}
		j++
	}
	if j < len(s) && !isBlank(s[j]) && s[j] != ':' {
		return Line{}, false
	}
	sev, ok := textLevel(word)
	if !ok {
		return Line{}, false
	}
	return Line{Format: Text, Severity: sev, SeverityText: word}, true
}

// klogHeader reads the severity letter of klog's and glog's header, "Lmmdd ".
func klogHeader(s string) (int, bool) {
	if len(s) < 6 || s[5] != ' ' || !isDigit(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) || !isDigit(s[4]) {
		return 0, false
	}
	switch s[0] {
	case 'I':
		return sevInfo, true
	case 'W':
		return sevWarn, true
	case 'E':
		return sevError, true
	case 'F':
		return sevFatal, true
	}
	return 0, false
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func skipBlank(s string, i int) int {
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return i
}

func skipToken(s string, i int) int {
	for i < len(s) && !isBlank(s[i]) {
		i++
	}
	return i
}
