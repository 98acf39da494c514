package stacks

import (
	"obs-stack/stacks/check"

	"net/url"
	"regexp"
	"strings"
)

var grafanaUID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

// PrometheusDatasource is the name and uid of the Prometheus datasource grafana.prometheusURL adds.
const PrometheusDatasource = "Prometheus"

func (s Spec) checkGrafana(c *checker) {
	g := s.Grafana
	if g.Namespace != "" {
		check.DNSLabel(c, "grafana.namespace", g.Namespace)
	}
	labelPair(c, "grafana.sidecarLabel", g.SidecarLabel, "grafana.sidecarLabelValue", g.SidecarLabelValue, "grafana_datasource", "1")
	check.Required(c, "grafana.datasourceName", g.DatasourceName, "Loki")
	if !grafanaUID.MatchString(g.DatasourceUID) {
		c.fail("grafana.datasourceUid", g.DatasourceUID, "Grafana uids are 1-40 letters, digits, - or _", "set it to e.g. loki")
	}
	if g.MaxLines < 1 {
		c.fail("grafana.maxLines", g.MaxLines, "Grafana would show no log lines", "set it to at least 1, e.g. 1000")
	}
	if g.TimeoutSeconds < 1 {
		c.fail("grafana.timeoutSeconds", g.TimeoutSeconds, "queries would time out at once", "set it to a number of seconds, e.g. 60")
	}
	if g.PrometheusURL == "" {
		return
	}
	u, err := url.Parse(g.PrometheusURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		c.fail("grafana.prometheusURL", g.PrometheusURL, "not an http(s) URL", "write it like http://prometheus-operated.monitoring.svc:9090, or leave it empty")
	case u.Port() == "3100" || strings.HasPrefix(u.Hostname(), "loki"):
		c.fail("grafana.prometheusURL", g.PrometheusURL, "this points at Loki, which is not a Prometheus (the stack's Loki datasource already points at the gateway)",
			"point it at your Prometheus, e.g. http://prometheus-operated.monitoring.svc:9090, or leave it empty")
	case u.Port() == "12345" || strings.HasPrefix(u.Hostname(), "alloy"):
		c.fail("grafana.prometheusURL", g.PrometheusURL, "this points at Alloy, whose :12345 serves a UI and /metrics, not the Prometheus query API: Alloy is scraped, never a datasource",
			"point it at the Prometheus that scrapes Alloy, or leave it empty")
	}
	if strings.EqualFold(g.DatasourceName, PrometheusDatasource) {
		c.fail("grafana.datasourceName", g.DatasourceName, "the Prometheus datasource (grafana.prometheusURL) has this name, and Grafana refuses two datasources of one name", "name the Loki datasource e.g. Loki")
	}
	if strings.EqualFold(g.DatasourceUID, PrometheusDatasource) {
		c.fail("grafana.datasourceUid", g.DatasourceUID, "the Prometheus datasource (grafana.prometheusURL) has this uid", "set it to e.g. loki")
	}
}
