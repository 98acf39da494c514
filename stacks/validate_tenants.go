package stacks

import (
	"obs-stack/stacks/check"

	"cmp"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// MaxTenants bounds loki.tenants: each tenant is a gateway user, a Secret, an Alloy writer and
// a Grafana datasource.
const MaxTenants = 1000

// Gateway user names the tenants' names may not take: the default tenant's writer and the
// admin who reads every tenant.
const (
	DefaultUser = "obs-stack"
	AdminUser   = "obs-stack-admin"
)

// checkTenants checks loki.tenants and records them parsed (Valid.Tenants).
func (s Spec) checkTenants(c *checker) {
	l := s.Loki
	if len(l.Tenants) == 0 {
		return
	}
	if !l.AuthEnabled {
		c.fail("loki.tenants", len(l.Tenants), "tenants need Loki's auth: with loki.authEnabled false Loki stores every write in tenant \"fake\" whatever the gateway sends",
			"set obs-stack:loki.authEnabled true (and obs-stack:loki.tenant to the default tenant's name), or remove obs-stack:loki.tenants")
	}
	if len(l.Tenants) > MaxTenants {
		c.fail("loki.tenants", len(l.Tenants), fmt.Sprintf("at most %d tenants", MaxTenants), "merge tenants, or run a second stack")
		return
	}
	topics := map[string]bool{}
	for _, t := range s.Kafka.Topics {
		topics[t.Name] = true
	}
	names := map[string]int{}
	namespaces := map[string]string{} // namespace -> the tenant that claims it
	claimed := map[string]string{}    // topic -> the tenant that claims it
	for i, t := range l.Tenants {
		key := fmt.Sprintf("loki.tenants[%d]", i)
		switch {
		case !validTenantID(t.Name):
			c.fail(key+".name", t.Name, "a Loki tenant id is 1-150 letters, digits or !-_.*'() other than \".\" and \"..\" (Loki refuses others)", "rename it, e.g. team-a")
		case t.Name == l.Tenant:
			c.fail(key+".name", t.Name, "this is loki.tenant, the default tenant, which gets the logs no tenant claims", "rename the tenant, or set obs-stack:loki.tenant to another default")
		case t.Name == DefaultUser || t.Name == AdminUser:
			c.fail(key+".name", t.Name, "the gateway's own users are "+DefaultUser+" (the default tenant) and "+AdminUser+" (reads every tenant)", "rename the tenant")
		}
		if first, ok := names[t.Name]; ok {
			c.fail(key+".name", t.Name, fmt.Sprintf("loki.tenants[%d] has this name too", first), "give each tenant its own name")
		} else {
			names[t.Name] = i
		}
		for j, ns := range t.Namespaces {
			nsKey := fmt.Sprintf("%s.namespaces[%d]", key, j)
			check.DNSLabel(c, nsKey, ns)
			if owner, ok := namespaces[ns]; ok {
				c.fail(nsKey, ns, "the namespace's logs already belong to tenant "+owner+"; a pod's logs land in one tenant", "list the namespace in one tenant only")
			} else {
				namespaces[ns] = t.Name
			}
		}
		for j, topic := range t.Topics {
			topicKey := fmt.Sprintf("%s.topics[%d]", key, j)
			switch owner, ok := claimed[topic]; {
			case !topics[topic] || !s.Kafka.Enabled:
				c.fail(topicKey, topic, "not a topic of kafka.topics: Alloy consumes only those", "add it to obs-stack:kafka.topics, or remove it here")
			case !s.Alloy.ConsumeKafka:
				c.fail(topicKey, topic, "alloy.consumeKafka is false, so no message of the topic reaches Loki", "set obs-stack:alloy.consumeKafka true, or remove the topic here")
			case ok:
				c.fail(topicKey, topic, "the topic's messages already belong to tenant "+owner, "list the topic in one tenant only")
			default:
				claimed[topic] = t.Name
			}
		}
		if len(t.Namespaces) == 0 && len(t.Topics) == 0 {
			c.warn(key, t.Name, "the tenant claims no namespace and no topic, so Alloy writes nothing to it (its gateway credentials still write and read it)",
				"list its namespaces (obs-stack:"+key+".namespaces) or topics")
		}
		c.valid.Tenants = append(c.valid.Tenants, checkTenant(c, key, t, l.Limits))
	}
}

// checkTenant checks one tenant's limits and retention against the global ones.
func checkTenant(c *checker, key string, t Tenant, global LokiLimits) ValidTenant {
	v := ValidTenant{Tenant: t}
	lim := t.Limits
	if lim.IngestionRateMB < 0 || lim.IngestionRateMB > MaxIngestionMB {
		c.fail(key+".limits.ingestionRateMB", lim.IngestionRateMB, fmt.Sprintf("the rate must be above 0 and at most %d MB/s (unset keeps loki.limits.ingestionRateMB)", MaxIngestionMB), "set it to e.g. 8")
	}
	rate, burst := cmp.Or(lim.IngestionRateMB, global.IngestionRateMB), cmp.Or(lim.IngestionBurstSizeMB, global.IngestionBurstSizeMB)
	if lim.IngestionBurstSizeMB < 0 || lim.IngestionBurstSizeMB > MaxIngestionMB || burst < rate {
		c.fail(key+".limits.ingestionBurstSizeMB", burst, fmt.Sprintf("the tenant's burst must be at least its rate (%g MB) and at most %d MB (unset keeps loki.limits.ingestionBurstSizeMB)", rate, MaxIngestionMB),
			"set obs-stack:%s.limits.ingestionBurstSizeMB to at least %g", key, rate)
	}
	for _, f := range []struct {
		name  string
		value int
	}{{"maxGlobalStreamsPerUser", lim.MaxGlobalStreamsPerUser}, {"maxQuerySeries", lim.MaxQuerySeries}} {
		if f.value < 0 {
			c.fail(key+".limits."+f.name, f.value, "a limit below 0 (0 or unset keeps the global value)", "set it to a positive count, or remove it")
		}
	}
	v.QueryTimeout = positiveDuration(c, key+".limits.queryTimeout", lim.QueryTimeout, 0, "2m")
	v.MaxQueryLookback = positiveDuration(c, key+".limits.maxQueryLookback", lim.MaxQueryLookback, 0, "720h")
	v.Retention = positiveDuration(c, key+".retention.period", t.Retention.Period, 24*time.Hour, "744h")
	seen := map[string]int{}
	for i, r := range t.Retention.Streams {
		rKey := fmt.Sprintf("%s.retention.streams[%d]", key, i)
		if _, err := ParseStreamSelector(r.Selector); err != nil {
			c.fail(rKey+".selector", r.Selector, "not a LogQL stream selector: "+err.Error(), `write it like {namespace="team-a", app="audit"}`)
		}
		period := positiveDuration(c, rKey+".period", r.Period, 24*time.Hour, "2160h")
		if r.Period == "" {
			c.fail(rKey+".period", r.Period, "required", "set it, e.g. to 2160h")
		}
		if r.Priority < 0 {
			c.fail(rKey+".priority", r.Priority, "Loki's priorities are 0 or more", "set it to 0 or more; the highest wins")
		}
		rule := fmt.Sprintf("%s@%d", r.Selector, r.Priority)
		if first, ok := seen[rule]; ok {
			c.fail(rKey, r.Selector, fmt.Sprintf("streams[%d] has the same selector and priority, so which period wins is undefined", first), "give one of them another priority, or remove one")
		}
		seen[rule] = i
		v.Streams = append(v.Streams, ValidStream{Selector: r.Selector, Period: period, Priority: r.Priority})
	}
	return v
}

// positiveDuration parses an optional duration ("" is unset: 0); a set one must be above 0
// and at least least.
func positiveDuration(c *checker, key, value string, least time.Duration, example string) time.Duration {
	if value == "" {
		return 0
	}
	d, err := model.ParseDuration(value)
	switch {
	case err != nil || d <= 0:
		c.fail(key, value, "not a positive duration", "write it like %s, or remove it to keep the global value", example)
		return 0
	case time.Duration(d) < least:
		c.fail(key, value, fmt.Sprintf("Loki's retention works in whole index periods; %s is its minimum", least), "set it to %s or more", least)
	}
	return time.Duration(d)
}
