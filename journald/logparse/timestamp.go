package logparse

import (
	"strconv"
	"strings"
	"time"
)

// maxUnix ends the times a field may hold: a value before 1970 or after 2200 is
// a duration, a counter or a misread unit, not the line's time.
var maxUnix = time.Date(2201, time.January, 1, 0, 0, 0, 0, time.UTC).Unix()

// parseTime reads a time field's value: an RFC 3339 time, also with a space or
// 't' for the 'T', a comma for the decimal point (Python's asctime) or no zone
// (UTC); or a number of seconds, milliseconds, microseconds or nanoseconds since
// the epoch, told apart by magnitude. Strings that are numbers are numbers,
// because logfmt has no other kind. The time is in UTC.
func parseTime(v string) (time.Time, bool) {
	s := strings.TrimSpace(v)
	if len(s) >= len("2006-01-02T15:04:05") && s[4] == '-' {
		return parseDate(s)
	}
	return parseEpoch(s)
}

func parseDate(s string) (time.Time, bool) {
	if s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	switch s[10] {
	case 'T', 't', ' ':
	default:
		return time.Time{}, false
	}
	year, ok1 := atoi(s[0:4])
	month, ok2 := atoi(s[5:7])
	day, ok3 := atoi(s[8:10])
	hour, ok4 := atoi(s[11:13])
	minute, ok5 := atoi(s[14:16])
	sec, ok6 := atoi(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 60 { // 60: a leap second
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		end := digits(s, i+1)
		if end == i+1 {
			return time.Time{}, false
		}
		nsec = int(fraction(s[i+1:end], 9))
		i = end
	}
	offset, ok := zone(s[i:])
	if !ok {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return inRange(t.Add(-time.Duration(offset) * time.Second))
}

// zone reads the end of an RFC 3339 time: "" (UTC, as a zoneless time is
// taken), Z, or an offset ±hh:mm, ±hhmm or ±hh. It returns the offset in seconds.
func zone(s string) (int, bool) {
	switch {
	case s == "" || s == "Z" || s == "z":
		return 0, true
	case s[0] != '+' && s[0] != '-':
		return 0, false
	}
	var h, m int
	var ok1, ok2 bool
	switch len(s) {
	case 3:
		h, ok1 = atoi(s[1:3])
		ok2 = true
	case 5:
		h, ok1 = atoi(s[1:3])
		m, ok2 = atoi(s[3:5])
	case 6:
		h, ok1 = atoi(s[1:3])
		m, ok2 = atoi(s[4:6])
		ok2 = ok2 && s[3] == ':'
	}
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	if s[0] == '-' {
		return -(h*3600 + m*60), true
	}
	return h*3600 + m*60, true
}

// parseEpoch reads a non-negative decimal number of seconds (below 1e11),
// milliseconds (below 1e14), microseconds (below 1e17) or nanoseconds. Without an
// exponent it reads the digits exactly: zap's 1714567890.1234567 keeps its 100 ns.
func parseEpoch(s string) (time.Time, bool) {
	end := digits(s, 0)
	if end == 0 || end > 19 {
		return time.Time{}, false
	}
	whole, frac := s[:end], ""
	if end < len(s) && s[end] == '.' {
		fracEnd := digits(s, end+1)
		frac = s[end+1 : fracEnd]
		end = fracEnd
	}
	if end < len(s) && (s[end] == 'e' || s[end] == 'E') {
		return parseEpochFloat(s)
	}
	if end != len(s) {
		return time.Time{}, false
	}
	n, _ := parseInt(whole)
	var sec, nsec int64
	switch {
	case n < 1e11:
		sec, nsec = n, fraction(frac, 9)
	case n < 1e14:
		sec, nsec = n/1e3, n%1e3*1e6+fraction(frac, 6)
	case n < 1e17:
		sec, nsec = n/1e6, n%1e6*1e3+fraction(frac, 3)
	default:
		sec, nsec = n/1e9, n%1e9
	}
	return inRange(time.Unix(sec, nsec))
}

// parseEpochFloat reads a number with an exponent by writing it without one
// (the shortest digits that read back as the same float64), so that 1.7145678901e9
// is 1714567890.1 s rather than float arithmetic's 1714567890.099999905.
func parseEpochFloat(s string) (time.Time, bool) {
	f, ok := parseFloat(s)
	if !ok || f < 0 || f >= 1e19 {
		return time.Time{}, false
	}
	return parseEpoch(strconv.FormatFloat(f, 'f', -1, 64))
}

func inRange(t time.Time) (time.Time, bool) {
	if u := t.Unix(); u < 0 || u >= maxUnix {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// fraction reads the first n digits of a decimal fraction's digits as an
// integer, padding with zeros: fraction("5", 3) is 500.
func fraction(digits string, n int) int64 {
	var v int64
	for i := range n {
		v *= 10
		if i < len(digits) {
			v += int64(digits[i] - '0')
		}
	}
	return v
}

// atoi reads a short run of digits only.
func atoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
