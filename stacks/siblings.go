package stacks

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DatasourceSecretName is the Secret holding the stack's Grafana datasources. In a Grafana
// namespace shared with other stacks it carries the stack's namespace, so that two stacks
// never write one Secret.
func (s Spec) DatasourceSecretName() string {
	if s.Grafana.Namespace == "" || s.Grafana.Namespace == s.Cluster.Namespace {
		return "obs-stack-datasources"
	}
	return "obs-stack-datasources-" + s.Cluster.Namespace
}

func (g Grafana) namespace(c Cluster) string {
	if g.Namespace != "" {
		return g.Namespace
	}
	return c.Namespace
}

// CheckSiblings refuses what would collide with the project's other stacks (by stack name):
// one namespace for two stacks (each would take over the other's objects), or one Grafana
// datasource name or uid in a Grafana namespace they share.
func (s Spec) CheckSiblings(stack string, others map[string]Spec) error {
	c := &checker{}
	for _, name := range slices.Sorted(maps.Keys(others)) {
		o := others[name]
		file := "Pulumi." + name + ".yaml"
		if o.Cluster.Namespace == s.Cluster.Namespace {
			c.fail("cluster.namespace", s.Cluster.Namespace,
				fmt.Sprintf("stack %s (%s) deploys to this namespace too, and two stacks in one namespace take over each other's objects", name, file),
				"give this stack a namespace of its own, e.g. observability-%s", stack)
		}
		if o.Grafana.namespace(o.Cluster) != s.Grafana.namespace(s.Cluster) {
			continue
		}
		if strings.EqualFold(o.Grafana.DatasourceName, s.Grafana.DatasourceName) {
			c.fail("grafana.datasourceName", s.Grafana.DatasourceName,
				fmt.Sprintf("stack %s (%s) provisions a datasource of this name into the same Grafana, and Grafana refuses two datasources of one name", name, file),
				"name this stack's datasource apart, e.g. %s (%s)", s.Grafana.DatasourceName, stack)
		}
		if o.Grafana.DatasourceUID == s.Grafana.DatasourceUID {
			c.fail("grafana.datasourceUid", s.Grafana.DatasourceUID,
				fmt.Sprintf("stack %s (%s) provisions a datasource with this uid into the same Grafana, and dashboards would reach one of the two at random", name, file),
				"set a uid of this stack's own, e.g. %s-%s", s.Grafana.DatasourceUID, stack)
		}
	}
	return errors.Join(c.errs...)
}
