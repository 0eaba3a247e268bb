// Package podmanconf holds the Podman source's settings and their validation. It is
// kept apart from package podman, which pulls in the Podman bindings, so that the
// configuration assembly stays small and imports no source; podman.OptionsFrom turns
// validated Settings into the engines' Options.
package podmanconf

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/podexporter/podexporter/internal/catalog"
	"github.com/podexporter/podexporter/internal/selector"
	"github.com/podexporter/podexporter/internal/setting"
)

// Settings configures the connections to Podman API services and what the metrics
// show of each container.
type Settings struct {
	// Sockets are URIs: unix:///path, tcp://host:port or ssh://user@host/path.
	Sockets       []string
	StatsInterval time.Duration
	// SlowInterval paces system info, images, volumes and networks.
	SlowInterval time.Duration
	// SizeInterval paces the measurement of container layers, images and volumes;
	// 0 turns it off.
	SizeInterval time.Duration
	// MaxContainers caps containers per service in the metrics; 0 means no cap.
	MaxContainers int
	// ContainerLabels is the allowlist of container labels put on podman_container_info,
	// PodLabels of pod labels on podman_pod_info, ImageLabels of image labels on
	// podman_image_info; AllLabels in one takes every label.
	ContainerLabels []string
	PodLabels       []string
	ImageLabels     []string
	// LabelValueMaxLength caps allowlisted label values.
	LabelValueMaxLength int
	// NameLabel puts the container name on every container value metric, and
	// ImageNameLabel the container's image.
	NameLabel      bool
	ImageNameLabel bool
	// ProcRoot is the host's /proc, for network namespace counters.
	ProcRoot string

	// The containers the metrics show (Selector): regular expressions on the name
	// and on the image as Podman shows it, label conditions (key or key=value), and
	// pods' infra containers; empty selects every container.
	IncludeContainer string
	ExcludeContainer string
	IncludeLabels    []string
	ExcludeLabels    []string
	IncludeImage     string
	ExcludeImage     string
	ExcludeInfra     bool
}

// OptOutLabel is the label with which a container leaves itself out of the metrics
// (io.podexporter.metrics=false), whatever the selection flags say.
const OptOutLabel = "io.podexporter.metrics"

// DefaultLabelValueMaxLength is --podman.label-value-max-length's default, also what
// the source cuts at when its Options leave it zero (tests).
const DefaultLabelValueMaxLength = 128

// Upper bounds of the numeric settings; a larger value is a typo, not a need.
const (
	// MaxContainersLimit is the largest --podman.max-containers. The cap keeps the
	// snapshot and every scrape bounded; one far above what a host can run caps
	// nothing, which 0 says plainly.
	MaxContainersLimit = 100_000
	// LabelValueMaxLengthLimit is the longest --podman.label-value-max-length. Each
	// kept value is held per container and written into every scrape and OTLP push;
	// Mimir and Cortex refuse label values over 2048 bytes by default, and a longer
	// value is a blob, not a label.
	LabelValueMaxLengthLimit = 16 << 10
)

// Validate checks every Podman setting; a problem comes back as a *setting.Error
// naming the flag and the fix.
func (s *Settings) Validate() error {
	for _, sock := range s.Sockets {
		if err := checkSocketURI(sock); err != nil {
			return err
		}
	}
	if s.StatsInterval < time.Second {
		return &setting.Error{Setting: "--podman.stats-interval", Problem: fmt.Sprintf("%s is shorter than 1s", s.StatsInterval), Fix: "use 1s or more; the default is 10s"}
	}
	if s.SlowInterval < 10*time.Second {
		return &setting.Error{Setting: "--podman.slow-interval", Problem: fmt.Sprintf("%s is shorter than 10s", s.SlowInterval), Fix: "use 10s or more; the default is 1m"}
	}
	if s.SizeInterval != 0 && s.SizeInterval < time.Minute {
		return &setting.Error{Setting: "--podman.size-interval", Problem: fmt.Sprintf("%s is shorter than 1m", s.SizeInterval), Fix: "use 1m or more, or 0 to turn size measurement off"}
	}
	if s.MaxContainers < 0 {
		return &setting.Error{Setting: "--podman.max-containers", Problem: "negative", Fix: "use 0 for no cap or a positive number"}
	}
	if s.MaxContainers > MaxContainersLimit {
		return &setting.Error{Setting: "--podman.max-containers", Problem: fmt.Sprintf("%d is above %d", s.MaxContainers, MaxContainersLimit), Fix: fmt.Sprintf("use at most %d, or 0 for no cap", MaxContainersLimit)}
	}
	if s.LabelValueMaxLength < 1 {
		return &setting.Error{Setting: "--podman.label-value-max-length", Problem: fmt.Sprintf("%d is not a length", s.LabelValueMaxLength), Fix: "use a positive number such as 128"}
	}
	if s.LabelValueMaxLength > LabelValueMaxLengthLimit {
		return &setting.Error{Setting: "--podman.label-value-max-length", Problem: fmt.Sprintf("%d is above %d", s.LabelValueMaxLength, LabelValueMaxLengthLimit), Fix: fmt.Sprintf("use at most %d; the default is 128", LabelValueMaxLengthLimit)}
	}
	if _, _, _, err := s.Allowlists(); err != nil {
		return err
	}
	if _, err := s.Selector(); err != nil {
		return err
	}
	if fi, err := os.Stat(s.ProcRoot + "/self"); err != nil || !fi.IsDir() {
		return &setting.Error{Setting: "--podman.proc-root", Problem: fmt.Sprintf("%q is not a proc filesystem", s.ProcRoot), Fix: "use /proc, or mount the host's /proc (e.g. at /host/proc) and point here"}
	}
	return nil
}

// Allowlists are the container, pod and image label allowlists, checked; a problem
// is a *setting.Error naming the flag.
func (s *Settings) Allowlists() (containers, pods, images Allowlist, err error) {
	if containers, err = NewAllowlist("--podman.container-label", s.ContainerLabels, catalog.ContainerInfoLabels); err != nil {
		return
	}
	if pods, err = NewAllowlist("--podman.pod-label", s.PodLabels, catalog.PodInfo.Labels); err != nil {
		return
	}
	images, err = NewAllowlist("--podman.image-label", s.ImageLabels, catalog.ImageInfo.Labels)
	return
}

// Selector is the container selection of the metrics, checked; a problem is a
// *setting.Error naming the flag.
func (s *Settings) Selector() (*selector.Selector, error) {
	sel := &selector.Selector{ExcludeInfra: s.ExcludeInfra, OptOut: OptOutLabel}
	var err error
	if sel.IncludeName, err = selector.Regexp("--podman.include-container", s.IncludeContainer); err != nil {
		return nil, err
	}
	if sel.ExcludeName, err = selector.Regexp("--podman.exclude-container", s.ExcludeContainer); err != nil {
		return nil, err
	}
	if err := sel.Compile("--podman.", selector.Conditions{IncludeImage: s.IncludeImage, ExcludeImage: s.ExcludeImage,
		IncludeLabels: s.IncludeLabels, ExcludeLabels: s.ExcludeLabels}); err != nil {
		return nil, err
	}
	return sel, nil
}

// checkSocketURI reports a Podman service URI the bindings could not dial, as a
// *setting.Error naming --podman.socket and the accepted forms.
func checkSocketURI(s string) error {
	bad := func(problem string) error {
		return &setting.Error{Setting: "--podman.socket", Problem: fmt.Sprintf("%q: %s", s, problem), Fix: "use unix:///run/podman/podman.sock, unix:///run/user/UID/podman/podman.sock, tcp://HOST:PORT or ssh://USER@HOST/PATH"}
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad(err.Error())
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return bad("the socket path must be absolute (three slashes after unix:)")
		}
	case "tcp":
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return bad("tcp needs host:port")
		}
	case "ssh":
		if u.Host == "" {
			return bad("ssh needs a host")
		}
	default:
		return bad("unknown scheme " + fmt.Sprintf("%q", u.Scheme))
	}
	return nil
}

// Declare declares the Podman settings, with their defaults, into set.
func (s *Settings) Declare(set *setting.Set) {
	set.Strings(&s.Sockets, "podman.socket", "Podman API socket URI; repeat for several (rootful and rootless). Default: $CONTAINER_HOST, else the rootful socket and every rootless one present.").
		WithKey("podman.sockets").WithDoc("`unix://`, `tcp://` or `ssh://`; without any, `$CONTAINER_HOST`, else the rootful socket plus every `/run/user/*/podman/podman.sock` present")
	set.Duration(&s.StatsInterval, "podman.stats-interval", "How often container stats are polled.", 10*time.Second).
		WithDoc("one stats call for all running containers this often; at least 1s")
	set.Duration(&s.SlowInterval, "podman.slow-interval", "How often system info, images, volumes and networks are re-listed besides their own events, and containers' cgroup limits read again (Podman 4.3 sends no event for podman update).", time.Minute).
		WithDoc("at least 10s")
	set.Duration(&s.SizeInterval, "podman.size-interval", "How often Podman measures container layers, images and volumes (podman system df, costly: it walks every layer and volume); 0 turns it off.", 5*time.Minute).
		WithDoc("at least 1m, or 0; a round that takes Podman long is followed by a pause of 19 times its length, so it spends at most 5% of its time on it")
	set.Int(&s.MaxContainers, "podman.max-containers", "Most containers per Podman service in the metrics (newest kept); 0 means no cap.", 1000).
		WithDoc(fmt.Sprintf("the rest are counted in `podexporter_podman_containers_dropped_total`; at most %d", MaxContainersLimit))
	const selDoc = "exclusions win; the label `io.podexporter.metrics=false` always leaves a container out; see [Choosing containers](#choosing-containers)"
	set.String(&s.IncludeContainer, "podman.include-container", "Show in the metrics only containers whose name matches this regular expression.", "").
		WithDoc(selDoc)
	set.String(&s.ExcludeContainer, "podman.exclude-container", "Leave out of the metrics containers whose name matches this regular expression.", "").
		WithDoc(selDoc)
	set.Strings(&s.IncludeLabels, "podman.include-label", "Show in the metrics only containers with this label: key (present, any value) or key=value (exactly); repeat for several, any one suffices.").
		WithKey("podman.include_labels").WithDoc(selDoc)
	set.Strings(&s.ExcludeLabels, "podman.exclude-label", "Leave out of the metrics containers with this label: key or key=value; repeat for several.").
		WithKey("podman.exclude_labels").WithDoc(selDoc)
	set.String(&s.IncludeImage, "podman.include-image", "Show in the metrics only containers whose image, as podman ps shows it, matches this regular expression.", "").
		WithDoc(selDoc)
	set.String(&s.ExcludeImage, "podman.exclude-image", "Leave out of the metrics containers whose image, as podman ps shows it, matches this regular expression.", "").
		WithDoc(selDoc)
	set.Bool(&s.ExcludeInfra, "podman.exclude-infra", "Leave pods' infra containers out of the metrics.", false).
		WithDoc("off by default, as in prometheus-podman-exporter; see [Choosing containers](#choosing-containers)")
	set.Strings(&s.ContainerLabels, "podman.container-label", "Container label to copy onto podman_container_info, OTLP resources and log records (sanitised); repeat for several; * takes every label.").
		WithKey("podman.container_labels").WithDoc("`com.example/team` becomes the label `com_example_team`; a key that would shadow a fixed label gets a `label_` prefix; two keys that would become the same name (`a.b` and `a_b`, `name` and `label_name`) are refused at start; with `*` each container's series carries its own labels (as prometheus-podman-exporter's `--collector.store_labels`), and of two keys of one container that become the same name the first in sorted order is kept")
	set.Strings(&s.PodLabels, "podman.pod-label", "Pod label to copy onto podman_pod_info (sanitised as container labels); repeat for several; * takes every label.").
		WithKey("podman.pod_labels").WithDoc("cut to `--podman.label-value-max-length` like container labels")
	set.Strings(&s.ImageLabels, "podman.image-label", "Image label to copy onto podman_image_info (sanitised as container labels); repeat for several; * takes every label.").
		WithKey("podman.image_labels").WithDoc("cut to `--podman.label-value-max-length` like container labels")
	set.Int(&s.LabelValueMaxLength, "podman.label-value-max-length", "Longest allowlisted label value kept, in bytes; longer ones are cut at the last whole character that fits and counted.", DefaultLabelValueMaxLength).
		WithDoc(fmt.Sprintf("invalid UTF-8 becomes U+FFFD; the same cut on every output; 1 to %d", LabelValueMaxLengthLimit))
	set.Bool(&s.NameLabel, "podman.name-label", "Put the container name label on every container metric, not only on podman_container_info.", false)
	set.Bool(&s.ImageNameLabel, "podman.image-name-label", "Put the container's image (label image) on every container metric, not only on podman_container_info.", false)
	set.String(&s.ProcRoot, "podman.proc-root", "Where the host's /proc is mounted, for per-container network counters (/host/proc in a container).", "/proc")
}
