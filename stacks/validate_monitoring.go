package stacks

import (
	"obs-stack/stacks/check"

	"fmt"
	"path"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Bounds of monitoring.scrapeInterval: the alerts' rate() windows are 5m, and a window needs
// at least two samples.
const (
	MinScrapeInterval = time.Second
	MaxScrapeInterval = 2 * time.Minute
)

// Resources of the exporters obs-stack adds; sizing counts them. The memcached sidecar asks
// request = limit so that the memcached pod stays Guaranteed.
var (
	MemcachedExporterResources = res("50m", "32Mi", "50m", "32Mi")
	NginxExporterResources     = res("10m", "16Mi", "100m", "32Mi")
	KafkaExporterResources     = res("50m", "64Mi", "200m", "128Mi")
)

const minCanaryMemory = "32Mi"

func (s Spec) checkMonitoring(c *checker) {
	m := s.Monitoring
	labelPair(c, "monitoring.selectorLabel", m.SelectorLabel, "monitoring.selectorLabelValue", m.SelectorLabelValue, "release", "kube-prometheus-stack")
	labelPair(c, "monitoring.dashboardLabel", m.DashboardLabel, "monitoring.dashboardLabelValue", m.DashboardLabelValue, "grafana_dashboard", "1")
	if d, err := model.ParseDuration(m.ScrapeInterval); err != nil || time.Duration(d) < MinScrapeInterval || time.Duration(d) > MaxScrapeInterval {
		c.fail("monitoring.scrapeInterval", m.ScrapeInterval,
			fmt.Sprintf("not a Prometheus duration from %s to %s (the alerts' rate() windows are 5m and need two samples each)", MinScrapeInterval, MaxScrapeInterval),
			"write it like 30s or 1m")
	}
	check.Required(c, "monitoring.runbookBaseURL", m.RunbookBaseURL, "https://github.com/your-org/obs-stack/blob/main/docs/runbooks.md")
	image(c, "monitoring.memcachedExporterImage", m.MemcachedExporterImage, defaults.Monitoring.MemcachedExporterImage)
	image(c, "monitoring.nginxExporterImage", m.NginxExporterImage, defaults.Monitoring.NginxExporterImage)
	image(c, "monitoring.kafkaExporterImage", m.KafkaExporterImage, defaults.Monitoring.KafkaExporterImage)

	cn := m.Canary
	checkResources(c, "monitoring.canary", cn.Resources, minCanaryMemory)
	if !cn.Enabled {
		return
	}
	if !s.Alloy.PodLogs {
		c.fail("monitoring.canary.enabled", cn.Enabled, "loki-canary writes its lines to stdout and Alloy's pod logs carry them into Loki; with alloy.podLogs off nothing would, and every line would count as missing",
			"set obs-stack:alloy.podLogs true, or obs-stack:monitoring.canary.enabled false")
	}
	lokiTag := c.valid.Versions[s.Loki.Image]
	if cn.Image == "" {
		followed, ok := canaryOf(s.Loki.Image, lokiTag)
		if !ok {
			c.fail("monitoring.canary.image", cn.Image,
				fmt.Sprintf("the canary follows loki.image (%s), and no loki-canary image can be told from it: it needs a tag and a repository named loki", s.Loki.Image),
				"set obs-stack:monitoring.canary.image to the loki-canary image of your Loki's version")
			return
		}
		c.valid.CanaryImage, c.valid.Versions[followed] = followed, lokiTag
		return
	}
	image(c, "monitoring.canary.image", cn.Image, "grafana/loki-canary:"+lokiTag)
	c.valid.CanaryImage = cn.Image
	if canaryTag := c.valid.Versions[cn.Image]; lokiTag != "" && canaryTag != lokiTag {
		c.fail("monitoring.canary.image", cn.Image, "loki-canary must be the version of Loki ("+lokiTag+"): it queries Loki's API as that version speaks it",
			"remove the key (the canary then follows loki.image), or set it to a loki-canary image tagged %s", lokiTag)
	}
}

// canaryOf is the loki-canary image beside a Loki image: the same registry and tag, the
// repository loki-canary next to loki (as grafana/loki and grafana/loki-canary are published).
// A digest is Loki's own and is not carried over. tag is the Loki image's, "" when it has none.
func canaryOf(lokiImage, tag string) (string, bool) {
	named, err := reference.ParseNormalizedNamed(lokiImage)
	if err != nil || tag == "" || path.Base(reference.Path(named)) != "loki" {
		return "", false
	}
	canary, err := reference.WithName(reference.Domain(named) + "/" + reference.Path(named) + "-canary")
	if err != nil {
		return "", false
	}
	tagged, err := reference.WithTag(canary, tag)
	if err != nil {
		return "", false
	}
	return reference.FamiliarString(tagged), true
}

// labelPair checks a label key and value that select objects (a sidecar's, a Prometheus's).
func labelPair(c *checker, keyKey, key, valueKey, value, exampleKey, exampleValue string) {
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		c.fail(keyKey, key, "not a label key: "+strings.Join(errs, "; "), "set it to the label to select by, e.g. %s", exampleKey)
	}
	if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
		c.fail(valueKey, value, "not a label value: "+strings.Join(errs, "; "), "set it to e.g. %q", exampleValue)
	}
}
