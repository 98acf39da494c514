package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Problem is one reason the spec cannot be deployed.
type Problem struct {
	Key    string // config key without the namespace, e.g. loki.ingester.replicas; a key of another namespace is written whole (kubernetes:context)
	Value  any
	Reason string
	Fix    string
}

func (p *Problem) Error() string {
	key := p.Key
	if !strings.Contains(key, ":") {
		key = Namespace + ":" + key
	}
	return fmt.Sprintf("%s = %v: %s; fix: %s", key, show(p.Value), p.Reason, p.Fix)
}

type checker struct {
	errs     []error
	warnings []string
	now      time.Time
	valid    Valid // what the checks parsed, returned when they all pass
}

func (c *checker) fail(key string, value any, reason, fix string, args ...any) {
	c.errs = append(c.errs, &Problem{Key: key, Value: value, Reason: reason, Fix: fmt.Sprintf(fix, args...)})
}

func (c *checker) warn(key string, value any, reason, fix string) {
	c.warnings = append(c.warnings, (&Problem{Key: key, Value: value, Reason: reason, Fix: fix}).Error())
}

// Fail and Warn make the checker the check.Reporter of the sections checked in packages of
// their own.
func (c *checker) Fail(key string, value any, reason, fix string, args ...any) {
	c.fail(key, value, reason, fix, args...)
}

func (c *checker) Warn(key string, value any, reason, fix string) { c.warn(key, value, reason, fix) }

// Validate checks the merged spec in one pass and returns every problem at once, plus
// warnings for things that deploy but deserve attention. On success it returns the spec with
// the values it parsed (Valid), which is what the program deploys; on failure, the spec alone.
func (s Spec) Validate() (Valid, []string, error) { return s.ValidateAt(time.Now()) }

// ValidateAt is Validate on the day of now (schema periods are checked against today, UTC).
func (s Spec) ValidateAt(now time.Time) (Valid, []string, error) {
	c := &checker{now: now.UTC(), valid: Valid{Spec: s, Versions: map[string]string{}, MemoryLimits: map[string]int64{}}}
	s.checkCluster(c)
	s.checkLoki(c)
	s.checkGateway(c)
	s.checkGrafana(c)
	s.checkAlloy(c)
	s.checkKafka(c)
	s.checkMonitoring(c)
	s.checkCapacity(c)
	if len(c.errs) > 0 {
		return Valid{Spec: s}, c.warnings, errors.Join(c.errs...) // the spec only: nothing parsed is trusted
	}
	return c.valid, c.warnings, nil
}

// Bounds of the counts in the spec: far below int32, so that no sizing sum can overflow.
const (
	MaxNodes      = 5000 // the largest cluster Kubernetes supports
	MaxCacheMB    = 1 << 20
	MaxPartitions = 100000
)

// Memory limits below which a component cannot start (it is OOM-killed while loading).
const (
	minLokiMemory    = "128Mi"
	minGatewayMemory = "16Mi"
	minAlloyMemory   = "64Mi"
	minKafkaMemory   = "512Mi" // the heap is half the limit, and Kafka needs 256m of heap
)

// checkWorkload checks the sizing of one set of pods; minMemory ("" for none) is the memory
// limit below which the component cannot start.
func checkWorkload(c *checker, key string, w Workload, stateful, autoscales bool, cl Cluster, minMemory string) {
	if w.Replicas < 1 || w.Replicas > MaxReplicas {
		c.fail(key+".replicas", w.Replicas, fmt.Sprintf("the stack runs these pods, so it needs 1 to %d replicas", MaxReplicas), "set it to 1 or more")
	}
	checkResources(c, key, w.Resources, minMemory)
	checkAutoscaling(c, key, w, autoscales)
	if stateful {
		positiveQuantity(c, key+".storage", w.Storage, "10Gi")
	}
	switch w.AntiAffinity {
	case AntiAffinitySoft, AntiAffinityNone:
	case AntiAffinityHard:
		nodes := cl.Nodes
		if peak := w.Peak(); nodes >= 1 && peak <= MaxReplicas && cl.Placeable(peak) < peak {
			placeable, where := cl.Placeable(peak), fmt.Sprintf("on %d node(s)", nodes)
			if cl.Zoned() {
				where += fmt.Sprintf(" dealt to %d zones, each zone taking an even share of the replicas", len(cl.Zones.Names))
			}
			c.fail(key+".antiAffinity", w.AntiAffinity,
				fmt.Sprintf("hard anti-affinity allows one pod per node, so %d of %d replicas would stay Pending %s", peak-placeable, peak, where),
				"set obs-stack:%s.antiAffinity to soft, lower obs-stack:%s.replicas (and autoscaling.maxReplicas) to %d, or add nodes (obs-stack:cluster.nodes)", key, key, placeable)
		}
	default:
		c.fail(key+".antiAffinity", w.AntiAffinity, "unknown anti-affinity", "set it to hard, soft or none")
	}
}

// checkAutoscaling: an autoscaler only on a target that autoscales, between replicas and a
// higher maxReplicas, on a CPU request it can measure use against.
func checkAutoscaling(c *checker, key string, w Workload, autoscales bool) {
	a := w.Autoscaling
	if a.OnQueue && !a.On() {
		c.fail(key+".autoscaling.onQueue", true, "the queue decides between replicas and autoscaling.maxReplicas, and maxReplicas is 0 (off)", "set obs-stack:%s.autoscaling.maxReplicas above replicas", key)
	}
	if !a.On() {
		return
	}
	k := key + ".autoscaling"
	switch {
	case !autoscales:
		c.fail(k+".maxReplicas", a.MaxReplicas, "only stateless targets that gain from more replicas autoscale (loki distributor, querier, queryFrontend, read, and the gateway): this one holds data or is coordinated by its replica count",
			"set it to 0 and size obs-stack:%s.replicas", key)
		return
	case a.MaxReplicas <= w.Replicas || a.MaxReplicas > MaxReplicas:
		c.fail(k+".maxReplicas", a.MaxReplicas, fmt.Sprintf("the autoscaler scales between replicas (%d) and maxReplicas, so maxReplicas must be above it and at most %d", w.Replicas, MaxReplicas),
			"set it above obs-stack:%s.replicas, or to 0 to turn the autoscaler off", key)
	}
	if a.TargetCPUPercent < 1 || a.TargetCPUPercent > 100 {
		c.fail(k+".targetCPUPercent", a.TargetCPUPercent, "the autoscaler keeps the average CPU use at this percentage of the CPU request", "set it between 1 and 100, e.g. 60")
	}
	if w.Resources.Requests.CPU == "" {
		c.fail(key+".resources.requests.cpu", w.Resources.Requests.CPU, "the autoscaler measures CPU use against the CPU request, and there is none", "set it, e.g. to 250m")
	}
}

func checkResources(c *checker, key string, r Resources, minMemory string) {
	reqCPU := quantity(c, key+".resources.requests.cpu", r.Requests.CPU, "100m")
	limCPU := quantity(c, key+".resources.limits.cpu", r.Limits.CPU, "1")
	reqMem := quantity(c, key+".resources.requests.memory", r.Requests.Memory, "256Mi")
	limMem := quantity(c, key+".resources.limits.memory", r.Limits.Memory, "512Mi")
	if limMem != nil {
		c.valid.MemoryLimits[key] = limMem.Value()
	}
	if reqCPU != nil && limCPU != nil && reqCPU.Cmp(*limCPU) > 0 {
		c.fail(key+".resources.requests.cpu", r.Requests.CPU, "the request is above the limit "+r.Limits.CPU, "lower the request or raise obs-stack:%s.resources.limits.cpu", key)
	}
	if reqMem != nil && limMem != nil && reqMem.Cmp(*limMem) > 0 {
		c.fail(key+".resources.requests.memory", r.Requests.Memory, "the request is above the limit "+r.Limits.Memory, "lower the request or raise obs-stack:%s.resources.limits.memory", key)
	}
	if minMemory != "" && limMem != nil && limMem.Cmp(resource.MustParse(minMemory)) < 0 {
		c.fail(key+".resources.limits.memory", r.Limits.Memory, fmt.Sprintf("below the %s the component needs to start: it would be OOM-killed at start-up (CrashLoopBackOff)", minMemory),
			"raise it to at least %s", minMemory)
	}
}

// image checks a container image reference the way the container runtime reads it.
func image(c *checker, key, value, example string) {
	if strings.TrimSpace(value) == "" {
		c.fail(key, value, "required", "set it, e.g. to %s", example)
		return
	}
	ref, err := reference.ParseNormalizedNamed(value)
	if err != nil {
		c.fail(key, value, "not an image reference: "+err.Error(), "write it like %s (registry/repository:tag or @sha256:digest)", example)
		return
	}
	if tagged, ok := ref.(reference.Tagged); ok {
		c.valid.Versions[value] = tagged.Tag()
	}
}

// quantity parses a Kubernetes quantity; an empty value is allowed (left unset).
func quantity(c *checker, key, value, example string) *resource.Quantity {
	if value == "" {
		return nil
	}
	q, err := resource.ParseQuantity(value)
	if err != nil {
		c.fail(key, value, "not a Kubernetes quantity", "write it like %s (memory uses Mi/Gi, CPU cores or millicores like 500m)", example)
		return nil
	}
	if q.Sign() < 0 {
		c.fail(key, value, "a quantity cannot be negative", "write it like %s", example)
		return nil
	}
	return &q
}

func positiveQuantity(c *checker, key, value, example string) {
	if value == "" {
		c.fail(key, value, "required", "set it, e.g. to %s", example)
		return
	}
	if q := quantity(c, key, value, example); q != nil && q.Sign() == 0 {
		c.fail(key, value, "must be more than zero", "set it, e.g. to %s", example)
	}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
