package otlp

import (
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

// Host describes this machine and this exporter, the part of every resource that does
// not depend on the container.
type Host struct {
	ServiceName       string
	ServiceInstanceID string
	HostName          string
	HostID            string // /etc/machine-id
	// Extra are OTEL_RESOURCE_ATTRIBUTES, applied last so operators can override.
	Extra map[string]string
}

// DetectHost fills Host from the machine and the standard environment variables.
func DetectHost(getenv func(string) string) Host {
	h := Host{ServiceName: "podexporter"}
	if v := getenv("OTEL_SERVICE_NAME"); v != "" {
		h.ServiceName = v
	}
	h.HostName, _ = os.Hostname()
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		h.HostID = strings.TrimSpace(string(id))
	}
	h.ServiceInstanceID = h.HostName
	if h.HostID != "" {
		h.ServiceInstanceID = h.HostID
	}
	h.Extra = map[string]string{}
	for _, kv := range strings.Split(getenv("OTEL_RESOURCE_ATTRIBUTES"), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k != "" {
			h.Extra[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return h
}

func (h Host) attributes() []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.ServiceName(h.ServiceName),
		semconv.ServiceInstanceID(h.ServiceInstanceID),
		semconv.HostName(h.HostName),
	}
	if h.HostID != "" {
		attrs = append(attrs, semconv.HostID(h.HostID))
	}
	return attrs
}

// Container is what a container's resource says about it.
type Container struct {
	ID, Name, Image string
	PodID, PodName  string
	Service         string // podman_service: rootful, rootless-UID, URI
	// Labels are the allowlisted container labels, as container.label.<key>.
	Labels map[string]string
	// Started is when the container last started: the start of its cumulative series.
	Started time.Time
}

// newResource builds a resource from the host part, container attributes (if any) and
// the operator's extra attributes, which win.
func (h Host) newResource(c *Container, more ...attribute.KeyValue) *resource.Resource {
	attrs := h.attributes()
	if c != nil {
		attrs = append(attrs, semconv.ContainerID(text(c.ID)), semconv.ContainerName(text(c.Name)),
			semconv.ContainerRuntimeName("podman"))
		if c.Image != "" {
			attrs = append(attrs, semconv.ContainerImageName(text(c.Image)))
		}
		if c.PodName != "" {
			attrs = append(attrs, attribute.String("podman.pod.id", text(c.PodID)), attribute.String("podman.pod.name", text(c.PodName)))
		}
		if c.Service != "" {
			attrs = append(attrs, attribute.String("podman.service", text(c.Service)))
		}
		for k, v := range c.Labels {
			attrs = append(attrs, attribute.String(text("container.label."+k), text(v)))
		}
	}
	attrs = append(attrs, more...)
	for k, v := range h.Extra {
		attrs = append(attrs, attribute.String(k, v))
	}
	return resource.NewSchemaless(attrs...)
}

// text makes s valid UTF-8 for an OTLP string, whose protobuf encoding refuses
// anything else: the export of the whole batch would fail, and a batch that can
// never be sent stops the log path. Container names, tags and units come from
// journal fields that any local user can write; a string that is not UTF-8 is
// shown with U+FFFD where the bytes were.
func text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
