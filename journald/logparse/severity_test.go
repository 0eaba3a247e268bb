package logparse

import "testing"

func TestSeverityOf(t *testing.T) {
	tests := map[string]int{
		// Words, in any case, trimmed.
		"trace": 1, "TRC": 1, "finest": 1, "FINER": 1, "Verbose": 1,
		"debug": 5, "DBG": 5, "fine": 5, "CONFIG": 5,
		"info": 9, "INFO": 9, " info ": 9, "inf": 9, "Information": 9, "informational": 9,
		"notice": 10,
		"warn":   13, "Warning": 13, "WRN": 13,
		"error": 17, "err": 17, "eror": 17, "SEVERE": 17,
		"crit": 18, "critical": 18, "dpanic": 18,
		"alert": 19,
		"fatal": 21, "panic": 21, "emerg": 21, "emergency": 21, "FTL": 21,
		// klog, glog, Serilog letters.
		"E": 17, "W": 13, "I": 9, "D": 5, "F": 21,
		// OpenTelemetry's texts.
		"TRACE2": 2, "DEBUG4": 8, "INFO2": 10, "WARN3": 15, "ERROR3": 19, "FATAL4": 24,
		// syslog priorities and pino/bunyan levels, also as strings.
		"0": 21, "1": 19, "2": 18, "3": 17, "4": 13, "5": 10, "6": 9, "7": 5,
		"10": 1, "20": 5, "30": 9, "40": 13, "50": 17, "60": 21,
		// log/slog between the named levels.
		"DEBUG-4": 1, "DEBUG+2": 7, "INFO+2": 11, "WARN+1": 14, "ERROR+4": 21, "ERROR+100": 24, "DEBUG-100": 1,
		// Not levels.
		"": 0, "chatty": 0, "8": 0, "-1": 0, "35": 0, "70": 0, "3.0": 0, "INFO+": 0, "INFO+x": 0,
		"INFO+-2": 0, "LOUD+2": 0, "informationally": 0, "T": 0, "ERROR5": 0, "warn ing": 0,
	}
	for v, want := range tests {
		if got := severityOf(v); got != want {
			t.Errorf("severityOf(%q) = %d, want %d", v, got, want)
		}
	}
}

func TestSeverityMatchesSyslog(t *testing.T) {
	// The journal reader's PRIORITY mapping, which level names must agree with.
	for p, name := range []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"} {
		if a, b := severityOf(name), severityOfNumber(int64(p)); a != b || a == 0 {
			t.Errorf("%s is %d, priority %d is %d", name, a, p, b)
		}
	}
}
