package stacks

import "reflect"

// TargetKind is one Loki process kind (a -target value), the same in every mode that runs it,
// in the spirit of the Loki jsonnet library's per-target objects.
type TargetKind struct {
	// Key is the target's section under obs-stack:loki (its Workload), e.g. queryFrontend.
	Key string
	// Name is the Kubernetes component name, e.g. query-frontend.
	Name string
	// Flag is Loki's -target value.
	Flag string
	// Stateful targets run as StatefulSets with a PVC each.
	Stateful bool
	// HoldsData marks the ring the replication factor applies to.
	HoldsData bool
	// Singleton targets must run exactly one replica.
	Singleton bool
	// Autoscales: stateless, and more replicas carry more load (pushes, queries), so a
	// HorizontalPodAutoscaler may own its replica count. Stateful targets and those Loki
	// coordinates by count (schedulers, index gateways, compactor, ruler) do not.
	Autoscales bool
	// Rings are the rings the target takes part in (the name label of loki_ring_members).
	Rings []string
}

// nameOf is the Name of the target whose section is key (e.g. singleBinary: single-binary).
func (t Topology) nameOf(key string) string {
	for _, k := range t.Targets {
		if k.Key == key {
			return k.Name
		}
	}
	return key
}

// dataTargetName is the Name of the target that holds the replicated data.
func (t Topology) dataTargetName() string {
	for _, k := range t.Targets {
		if k.HoldsData {
			return k.Name
		}
	}
	return ""
}

// LokiObjectName is the name of a Loki target's workload and Service, loki-<target>; its pods
// are loki-<target>-<ordinal or hash>. The Loki component, sizing and the dashboards use it.
func LokiObjectName(target string) string { return "loki-" + target }

// Target is a TargetKind as the spec sizes it.
type Target struct {
	TargetKind
	// Workload is the target's sizing from the spec (the section named by Key).
	Workload Workload
}

// Topology is one deployment mode as data: the targets it runs and which of them serves
// what. Everything that depends on the mode (workloads, Services, gateway routes, ring pages,
// the addresses in Loki's config, validation, sizing) reads it from here.
type Topology struct {
	// Targets the mode runs, in a stable order.
	Targets []TargetKind
	// Routes maps each gateway route group to the Name of the target that serves it.
	Routes map[string]string
	// RingPages maps each ring status page to the Name of the target that serves it.
	RingPages map[string]string
	// Scheduler, IndexGateway and Compactor name the targets the others reach over the
	// network; empty where every target runs in one process (SingleBinary).
	Scheduler, IndexGateway, Compactor string
	// TailProxy names the querier the query frontend proxies tail requests to; empty where
	// the frontend's process answers tails itself.
	TailProxy string
}

// Route groups the gateway serves, each handled by one target per mode.
const (
	RoutePush   = "push"
	RouteQuery  = "query"
	RouteTail   = "tail"
	RouteRules  = "rules"
	RouteDelete = "delete"
)

// Topologies describes every deployment mode. /scheduler/ring exists only where Loki uses
// the scheduler ring, i.e. no scheduler_address is configured: SingleBinary. The scalable
// modes address the schedulers directly, and Loki answers 404 there (so SimpleScalable's
// backend and Distributed's query-scheduler join no scheduler ring).
var Topologies = map[string]Topology{
	SingleBinary: {
		Targets: []TargetKind{{Key: "singleBinary", Name: "single-binary", Flag: "all", Stateful: true, HoldsData: true,
			Rings: []string{"ingester", "distributor", "compactor", "ruler", "scheduler"}}},
		Routes: map[string]string{RoutePush: "single-binary", RouteQuery: "single-binary", RouteTail: "single-binary",
			RouteRules: "single-binary", RouteDelete: "single-binary"},
		RingPages: map[string]string{"/ring": "single-binary", "/distributor/ring": "single-binary",
			"/compactor/ring": "single-binary", "/ruler/ring": "single-binary", "/scheduler/ring": "single-binary"},
	},
	SimpleScalable: {
		Targets: []TargetKind{
			{Key: "read", Name: "read", Flag: "read", Autoscales: true},
			{Key: "write", Name: "write", Flag: "write", Stateful: true, HoldsData: true, Rings: []string{"ingester", "distributor"}},
			{Key: "backend", Name: "backend", Flag: "backend", Stateful: true, Rings: []string{"compactor", "ruler"}},
		},
		Routes:    map[string]string{RoutePush: "write", RouteQuery: "read", RouteTail: "read", RouteRules: "backend", RouteDelete: "backend"},
		RingPages: map[string]string{"/ring": "write", "/distributor/ring": "write", "/compactor/ring": "backend", "/ruler/ring": "backend"},
		Scheduler: "backend", IndexGateway: "backend", Compactor: "backend",
	},
	Distributed: {
		Targets: []TargetKind{
			{Key: "distributor", Name: "distributor", Flag: "distributor", Autoscales: true, Rings: []string{"distributor"}},
			{Key: "ingester", Name: "ingester", Flag: "ingester", Stateful: true, HoldsData: true, Rings: []string{"ingester"}},
			{Key: "querier", Name: "querier", Flag: "querier", Autoscales: true},
			{Key: "queryFrontend", Name: "query-frontend", Flag: "query-frontend", Autoscales: true},
			{Key: "queryScheduler", Name: "query-scheduler", Flag: "query-scheduler"},
			{Key: "indexGateway", Name: "index-gateway", Flag: "index-gateway", Stateful: true},
			{Key: "compactor", Name: "compactor", Flag: "compactor", Stateful: true, Singleton: true, Rings: []string{"compactor"}},
			{Key: "ruler", Name: "ruler", Flag: "ruler", Stateful: true, Rings: []string{"ruler"}},
		},
		Routes:    map[string]string{RoutePush: "distributor", RouteQuery: "query-frontend", RouteTail: "query-frontend", RouteRules: "ruler", RouteDelete: "compactor"},
		RingPages: map[string]string{"/ring": "distributor", "/distributor/ring": "distributor", "/compactor/ring": "compactor", "/ruler/ring": "ruler"},
		Scheduler: "query-scheduler", IndexGateway: "index-gateway", Compactor: "compactor", TailProxy: "querier",
	},
}

// Topology is the spec's mode as data; an unknown mode runs nothing.
func (l Loki) Topology() Topology { return Topologies[l.Mode] }

// Targets are the targets the spec's mode runs, in a stable order, each sized by its section.
func (l Loki) Targets() []Target {
	var out []Target
	for _, kind := range l.Topology().Targets {
		field, ok := FieldByKey(reflect.ValueOf(l), kind.Key)
		if !ok {
			panic("stacks: Loki has no section " + kind.Key + " for a target of Topologies")
		}
		out = append(out, Target{TargetKind: kind, Workload: field.Interface().(Workload)})
	}
	return out
}

// RouteTargets maps each gateway route group to the Name of the target that serves it in the
// spec's mode; the gateway and the Loki Services are both derived from this one table.
func (l Loki) RouteTargets() map[string]string { return l.Topology().Routes }

// RingPageTargets maps each ring status page to the Name of the target that serves it.
func (l Loki) RingPageTargets() map[string]string { return l.Topology().RingPages }
