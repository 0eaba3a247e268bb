package otlp

import (
	"os"
	"strings"
	"time"

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
		attrs = append(attrs, semconv.ContainerID(c.ID), semconv.ContainerName(c.Name),
			semconv.ContainerRuntimeName("podman"))
		if c.Image != "" {
			attrs = append(attrs, semconv.ContainerImageName(c.Image))
		}
		if c.PodName != "" {
			attrs = append(attrs, attribute.String("podman.pod.id", c.PodID), attribute.String("podman.pod.name", c.PodName))
		}
		if c.Service != "" {
			attrs = append(attrs, attribute.String("podman.service", c.Service))
		}
		for k, v := range c.Labels {
			attrs = append(attrs, attribute.String("container.label."+k, v))
		}
	}
	attrs = append(attrs, more...)
	for k, v := range h.Extra {
		attrs = append(attrs, attribute.String(k, v))
	}
	return resource.NewSchemaless(attrs...)
}
