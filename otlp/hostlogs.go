package otlp

import (
	"path"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"github.com/podexporter/podexporter/logrecord"
)

// The host's own records (logrecord.Record.Host set) map onto the OpenTelemetry
// semantic conventions where they have a name, and the log data model's syslog
// mapping (Appendix A: APP-NAME is service.name, FACILITY syslog.facility) where
// they do not; the rest keeps its journal field's name under journald., as
// --journal.extra-fields does. The resource is the host's (host.*,
// service.instance.id, as on every resource) with service.name and systemd.unit of
// the record: few per host, so their providers stay cached. Per-process values
// (process.pid, the executable) go on the record: as resource keys, every new
// process would make a provider and the cache would churn.

// hostService is a host record's service.name: its syslog identifier (syslog's
// APP-NAME), else its process's name, as journalctl shows it, else its unit.
func hostService(r *logrecord.Record) string {
	switch {
	case r.Identifier != "":
		return r.Identifier
	case r.Host != nil && r.Host.Comm != "":
		return r.Host.Comm
	}
	return r.Unit
}

// hostKey is the provider of a host record's resource.
func hostKey(r *logrecord.Record) providerKey {
	svc := hostService(r)
	if svc == "" {
		return providerKey{kind: 'h'}
	}
	return providerKey{'s', svc + "\x00" + r.Unit}
}

// hostResource is what a host record's resource adds to the host's: its service
// and unit, as hostKey named them. service.name comes after the host's own
// (podexporter), which it replaces; OTEL_RESOURCE_ATTRIBUTES still win.
func hostResource(name string) []attribute.KeyValue {
	svc, unit, _ := strings.Cut(name, "\x00")
	attrs := []attribute.KeyValue{semconv.ServiceName(text(svc))}
	if unit != "" {
		attrs = append(attrs, attribute.String("systemd.unit", text(unit)))
	}
	return attrs
}

// hostAttributes appends a host record's own attributes.
func hostAttributes(attrs []attribute.KeyValue, r *logrecord.Record) []attribute.KeyValue {
	h := r.Host
	if h.PID > 0 {
		attrs = append(attrs, semconv.ProcessPID(h.PID))
	}
	if h.Exe != "" {
		// process.executable.name is the base name of /proc/PID/exe's target, which
		// _EXE is; _COMM is the process's own name, which it may change.
		attrs = append(attrs, semconv.ProcessExecutablePath(text(h.Exe)), semconv.ProcessExecutableName(text(path.Base(h.Exe))))
	}
	if r.Identifier != "" {
		attrs = append(attrs, attribute.String("syslog.identifier", text(r.Identifier)))
	}
	if h.Facility >= 0 {
		attrs = append(attrs, attribute.Int("syslog.facility", h.Facility))
	}
	if h.Transport != "" {
		attrs = append(attrs, attribute.String("journald._TRANSPORT", text(h.Transport)))
	}
	if r.BootID != "" {
		attrs = append(attrs, attribute.String("journald._BOOT_ID", text(r.BootID)))
	}
	return attrs
}
