package stacks

// Target is one Loki process kind (a -target value) as a mode runs it.
type Target struct {
	// Key is the target's section under obs-stack:loki, e.g. queryFrontend.
	Key string
	// Name is the Kubernetes component name, e.g. query-frontend.
	Name string
	// Flag is Loki's -target value.
	Flag string
	// Stateful targets run as StatefulSets with a PVC each.
	Stateful bool
	// HoldsData marks the ring the replication factor applies to.
	HoldsData bool
	// Workload is the target's sizing from the spec.
	Workload Workload
}

// Route groups the gateway serves, each handled by one target per mode.
const (
	RoutePush   = "push"
	RouteQuery  = "query"
	RouteTail   = "tail"
	RouteRules  = "rules"
	RouteDelete = "delete"
)

// RouteGroups lists the route groups in a stable order.
var RouteGroups = []string{RoutePush, RouteQuery, RouteTail, RouteRules, RouteDelete}

// Targets are the targets the spec's mode runs, in a stable order. An unknown mode runs none.
func (l Loki) Targets() []Target {
	switch l.Mode {
	case SingleBinary:
		return []Target{{Key: "singleBinary", Name: "single-binary", Flag: "all", Stateful: true, HoldsData: true, Workload: l.SingleBinary}}
	case SimpleScalable:
		return []Target{
			{Key: "read", Name: "read", Flag: "read", Workload: l.Read},
			{Key: "write", Name: "write", Flag: "write", Stateful: true, HoldsData: true, Workload: l.Write},
			{Key: "backend", Name: "backend", Flag: "backend", Stateful: true, Workload: l.Backend},
		}
	case Distributed:
		return []Target{
			{Key: "distributor", Name: "distributor", Flag: "distributor", Workload: l.Distributor},
			{Key: "ingester", Name: "ingester", Flag: "ingester", Stateful: true, HoldsData: true, Workload: l.Ingester},
			{Key: "querier", Name: "querier", Flag: "querier", Workload: l.Querier},
			{Key: "queryFrontend", Name: "query-frontend", Flag: "query-frontend", Workload: l.QueryFrontend},
			{Key: "queryScheduler", Name: "query-scheduler", Flag: "query-scheduler", Workload: l.QueryScheduler},
			{Key: "indexGateway", Name: "index-gateway", Flag: "index-gateway", Stateful: true, Workload: l.IndexGateway},
			{Key: "compactor", Name: "compactor", Flag: "compactor", Stateful: true, Workload: l.Compactor},
			{Key: "ruler", Name: "ruler", Flag: "ruler", Stateful: true, Workload: l.Ruler},
		}
	}
	return nil
}

// RouteTargets maps each gateway route group to the Name of the target that serves it in the
// spec's mode; the gateway and the Loki Services are both derived from this one table.
func (l Loki) RouteTargets() map[string]string {
	switch l.Mode {
	case SingleBinary:
		return map[string]string{RoutePush: "single-binary", RouteQuery: "single-binary", RouteTail: "single-binary", RouteRules: "single-binary", RouteDelete: "single-binary"}
	case SimpleScalable:
		return map[string]string{RoutePush: "write", RouteQuery: "read", RouteTail: "read", RouteRules: "backend", RouteDelete: "backend"}
	case Distributed:
		return map[string]string{RoutePush: "distributor", RouteQuery: "query-frontend", RouteTail: "query-frontend", RouteRules: "ruler", RouteDelete: "compactor"}
	}
	return nil
}

// RingPageTargets maps each ring status page to the Name of the target that serves it.
// /scheduler/ring exists only where Loki uses the scheduler ring, i.e. no scheduler_address
// is configured: SingleBinary. The scalable modes address the schedulers directly, and Loki
// answers 404 there.
func (l Loki) RingPageTargets() map[string]string {
	switch l.Mode {
	case SingleBinary:
		return map[string]string{"/ring": "single-binary", "/distributor/ring": "single-binary", "/compactor/ring": "single-binary", "/ruler/ring": "single-binary", "/scheduler/ring": "single-binary"}
	case SimpleScalable:
		return map[string]string{"/ring": "write", "/distributor/ring": "write", "/compactor/ring": "backend", "/ruler/ring": "backend"}
	case Distributed:
		return map[string]string{"/ring": "distributor", "/distributor/ring": "distributor", "/compactor/ring": "compactor", "/ruler/ring": "ruler"}
	}
	return nil
}
