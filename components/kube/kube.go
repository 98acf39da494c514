// Package kube holds the small Kubernetes building blocks every obs-stack component shares:
// labels, hardened pod templates, resources, anti-affinity and disruption budgets.
package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/stacks"
)

// ConfigHashAnnotation on a pod template rolls the pods when the config they read changes.
const ConfigHashAnnotation = "obs-stack.io/config-hash"

// Labels are the two label sets of one component's pods.
type Labels struct {
	// Selector is stable for the life of a workload (never a version).
	Selector pulumi.StringMap
	// All adds the informational labels to the selector.
	All pulumi.StringMap
}

// The Kubernetes recommended label keys, spelled once: selectors are name, instance and
// component; the others are informational.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelVersion   = "app.kubernetes.io/version"
)

// PartOf is the part-of label of everything the stack creates.
const PartOf = "obs-stack"

// AppSelector selects every pod of one app of the stack, whatever its component.
func AppSelector(name, instance string) map[string]string {
	return map[string]string{LabelName: name, LabelInstance: instance}
}

// NewLabels builds the selector (name, instance, component) and informational labels; version
// ("" for none) is the image's.
func NewLabels(name, instance, component, version string) Labels {
	sel := pulumi.StringMap{
		LabelName:      pulumi.String(name),
		LabelInstance:  pulumi.String(instance),
		LabelComponent: pulumi.String(component),
	}
	all := pulumi.StringMap{
		LabelPartOf:    pulumi.String(PartOf),
		LabelManagedBy: pulumi.String("pulumi"),
	}
	if version != "" {
		all[LabelVersion] = pulumi.String(version)
	}
	for k, v := range sel {
		all[k] = v
	}
	return Labels{Selector: sel, All: all}
}

// With is All plus labels another controller selects the object by (a Prometheus Operator's
// selector, Grafana's sidecar label).
func (l Labels) With(extra map[string]string) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range l.All {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = pulumi.String(v)
	}
	return out
}

// Selecting is l with key=value added to the selector and to All: the labels of a subset of
// the pods with a workload of its own (one zone's StatefulSet).
func (l Labels) Selecting(key, value string) Labels {
	out := Labels{Selector: pulumi.StringMap{key: pulumi.String(value)}, All: pulumi.StringMap{key: pulumi.String(value)}}
	maps.Copy(out.Selector, l.Selector)
	maps.Copy(out.All, l.All)
	return out
}

// Hash is a short content hash for config-hash annotations.
func Hash(content ...string) string {
	h := sha256.New()
	for _, c := range content {
		h.Write([]byte(c))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// PodSecurityContext runs every container as the given non-root user, with the runtime's
// seccomp profile (Pod Security "restricted").
func PodSecurityContext(uid int) *corev1.PodSecurityContextArgs {
	return &corev1.PodSecurityContextArgs{
		RunAsNonRoot:   pulumi.Bool(true),
		RunAsUser:      pulumi.Int(uid),
		RunAsGroup:     pulumi.Int(uid),
		FsGroup:        pulumi.Int(uid),
		SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

// ContainerSecurityContext: read-only root filesystem, no privilege escalation, no capabilities.
func ContainerSecurityContext() *corev1.SecurityContextArgs {
	return &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
	}
}

// Resources converts spec resources; empty quantities stay unset.
func Resources(r stacks.Resources) *corev1.ResourceRequirementsArgs {
	set := func(q stacks.Quantities) pulumi.StringMap {
		m := pulumi.StringMap{}
		if q.CPU != "" {
			m["cpu"] = pulumi.String(q.CPU)
		}
		if q.Memory != "" {
			m["memory"] = pulumi.String(q.Memory)
		}
		return m
	}
	return &corev1.ResourceRequirementsArgs{Requests: set(r.Requests), Limits: set(r.Limits)}
}

// AntiAffinity spreads the selected pods over nodes: hard = required, soft = preferred.
func AntiAffinity(policy string, selector pulumi.StringMap) *corev1.AffinityArgs {
	term := corev1.PodAffinityTermArgs{
		LabelSelector: &metav1.LabelSelectorArgs{MatchLabels: selector},
		TopologyKey:   pulumi.String(HostnameLabel),
	}
	switch policy {
	case stacks.AntiAffinityHard:
		return &corev1.AffinityArgs{PodAntiAffinity: &corev1.PodAntiAffinityArgs{
			RequiredDuringSchedulingIgnoredDuringExecution: corev1.PodAffinityTermArray{term},
		}}
	case stacks.AntiAffinitySoft:
		return &corev1.AffinityArgs{PodAntiAffinity: &corev1.PodAntiAffinityArgs{
			PreferredDuringSchedulingIgnoredDuringExecution: corev1.WeightedPodAffinityTermArray{
				corev1.WeightedPodAffinityTermArgs{Weight: pulumi.Int(100), PodAffinityTerm: term},
			},
		}}
	}
	return nil
}

// ZoneLabel marks the pods of a per-zone StatefulSet with their zone; its selector includes it.
const ZoneLabel = "obs-stack.io/zone"

// HostnameLabel is the node label naming the node, the topology of "one per node".
const HostnameLabel = "kubernetes.io/hostname"

// Spread sets where the selected pods of one workload run: anti-affinity over nodes by policy,
// and, when the cluster declares zones, node affinity to them (zone: to that one zone only,
// for a workload of one zone) and, for more than one replica, topology spread over the zones
// (required, at most one pod of skew, as the capacity checks place them) and over nodes
// (preferred, beside the anti-affinity). Without zones only the anti-affinity is set, so a
// stack without zones renders as before.
func (s Stack) Spread(spec *corev1.PodSpecArgs, policy string, selector pulumi.StringMap, replicas int, zone string) {
	affinity := AntiAffinity(policy, selector)
	z := s.Zones
	if len(z.Names) == 0 {
		if affinity != nil { // a typed nil would render as an empty affinity
			spec.Affinity = affinity
		}
		return
	}
	allowed := z.Names
	if zone != "" {
		allowed = []string{zone}
	}
	if affinity == nil {
		affinity = &corev1.AffinityArgs{}
	}
	spec.Affinity = affinity
	affinity.NodeAffinity = &corev1.NodeAffinityArgs{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelectorArgs{
		NodeSelectorTerms: corev1.NodeSelectorTermArray{corev1.NodeSelectorTermArgs{MatchExpressions: corev1.NodeSelectorRequirementArray{
			corev1.NodeSelectorRequirementArgs{Key: pulumi.String(z.NodeLabel), Operator: pulumi.String("In"), Values: pulumi.ToStringArray(allowed)},
		}}},
	}}
	if replicas < 2 {
		return
	}
	spread := func(key, when string) corev1.TopologySpreadConstraintArgs {
		return corev1.TopologySpreadConstraintArgs{
			MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String(key), WhenUnsatisfiable: pulumi.String(when),
			LabelSelector: &metav1.LabelSelectorArgs{MatchLabels: selector},
		}
	}
	constraints := corev1.TopologySpreadConstraintArray{}
	if zone == "" {
		constraints = append(constraints, spread(z.NodeLabel, "DoNotSchedule"))
	}
	spec.TopologySpreadConstraints = append(constraints, spread(HostnameLabel, "ScheduleAnyway"))
}

// Meta is the metadata of an object with an explicit name.
func Meta(name string, namespace pulumi.StringInput, labels pulumi.StringMap) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: namespace, Labels: labels, Annotations: Owned()}
}

// Owned are the annotations of every object obs-stack declares. pulumi.com/patchForce makes
// the provider's server-side apply take back a field another field manager holds instead of
// failing: after an interrupted up (recovered with refresh --clear-pending-creates), the
// objects created then keep the random field manager of a provider the state forgot, and
// the next change to one of their fields failed with "Server-Side Apply field conflict"
// (seen by the integration suite's change table). obs-stack is the only writer of the fields
// it sets; fields it does not set stay with their managers.
func Owned() pulumi.StringMap {
	return pulumi.StringMap{"pulumi.com/patchForce": pulumi.String("true")}
}

// NewPDB keeps all but one replica up during voluntary disruptions; only for replicas > 1.
func NewPDB(ctx *pulumi.Context, name string, namespace pulumi.StringInput, labels Labels, opts ...pulumi.ResourceOption) (*policyv1.PodDisruptionBudget, error) {
	return policyv1.NewPodDisruptionBudget(ctx, name, &policyv1.PodDisruptionBudgetArgs{
		Metadata: Meta(name, namespace, labels.All),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: pulumi.Int(1),
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: labels.Selector},
			// A pod that is not Ready (crash-looping, stuck Pending) may always be evicted: the
			// default (IfHealthyBudget) lets one broken pod block every node drain for good.
			UnhealthyPodEvictionPolicy: pulumi.String("AlwaysAllow"),
		},
	}, opts...)
}

// ReplicasOwner is the annotation of a Deployment whose replica count an autoscaler owns.
const ReplicasOwner = "obs-stack.io/replicas"

// NewDeployment declares a Deployment of replicas of pod and what its replica count asks for:
// a PodDisruptionBudget when more than one replica runs, and, under autoscaling, a
// HorizontalPodAutoscaler (autoscaling/v2, on CPU) that owns the count from then on. The
// program declares replicas as the autoscaler's floor and ignores later changes to it
// (pulumi ignoreChanges keeps the live count in the apply, so the field is neither reset nor
// scaled back: a preview shows no change after the autoscaler or a person scaled it).
func NewDeployment(ctx *pulumi.Context, name string, namespace pulumi.StringInput, pod Pod, w stacks.Workload, opts ...pulumi.ResourceOption) error {
	args, deployOpts := pod.Deployment(name, namespace, w.Replicas), opts
	if w.Autoscaling.On() {
		deployOpts = append(slices.Clone(opts), pulumi.IgnoreChanges([]string{"spec.replicas"}))
		// The annotation marks who owns the count: turning the autoscaler off removes it, and
		// that change makes the next up apply the Deployment, replicas included (an input
		// that stayed the same would otherwise leave the autoscaler's last count in place).
		meta := Meta(name, namespace, pod.Labels.All)
		meta.Annotations = pulumi.StringMap{ReplicasOwner: pulumi.String("autoscaler")}
		maps.Copy(meta.Annotations.(pulumi.StringMap), Owned())
		args.Metadata = meta
	}
	d, err := appsv1.NewDeployment(ctx, name, args, deployOpts...)
	if err != nil {
		return fmt.Errorf("creating Deployment %s: %w", name, err)
	}
	if w.Autoscaling.On() && !w.Autoscaling.OnQueue { // on the queue, KEDA makes the HPA
		_, err = autoscalingv2.NewHorizontalPodAutoscaler(ctx, name, &autoscalingv2.HorizontalPodAutoscalerArgs{
			Metadata: Meta(name, namespace, pod.Labels.All),
			Spec: &autoscalingv2.HorizontalPodAutoscalerSpecArgs{
				ScaleTargetRef: &autoscalingv2.CrossVersionObjectReferenceArgs{ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String("Deployment"), Name: d.Metadata.Name().Elem()},
				MinReplicas:    pulumi.Int(w.Replicas),
				MaxReplicas:    pulumi.Int(w.Autoscaling.MaxReplicas),
				Metrics: autoscalingv2.MetricSpecArray{autoscalingv2.MetricSpecArgs{
					Type: pulumi.String("Resource"),
					Resource: &autoscalingv2.ResourceMetricSourceArgs{Name: pulumi.String("cpu"),
						Target: &autoscalingv2.MetricTargetArgs{Type: pulumi.String("Utilization"), AverageUtilization: pulumi.Int(w.Autoscaling.TargetCPUPercent)}},
				}},
			},
		}, opts...)
		if err != nil {
			return fmt.Errorf("creating HorizontalPodAutoscaler %s: %w", name, err)
		}
	}
	if w.Replicas > 1 {
		if _, err := NewPDB(ctx, name, namespace, pod.Labels, opts...); err != nil {
			return fmt.Errorf("creating PodDisruptionBudget %s: %w", name, err)
		}
	}
	return nil
}

// ServiceFQDN is the in-cluster DNS name of a Service.
func ServiceFQDN(name, namespace, domain string) string {
	return name + "." + namespace + ".svc." + domain
}

// DataOptions are the resource options of whatever holds data (StatefulSets with PVCs, the
// Kafka cluster id): protected when asked (cluster.protectData), and replaced delete-first,
// which is what a fixed name needs anyway, said explicitly.
func DataOptions(protect bool) []pulumi.ResourceOption {
	return []pulumi.ResourceOption{pulumi.Protect(protect), pulumi.DeleteBeforeReplace(true)}
}

// RetainClaims keeps a StatefulSet's PVCs when it is deleted or scaled down: a replaced
// StatefulSet (same name) finds its data again.
func RetainClaims() *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs {
	return &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs{
		WhenDeleted: pulumi.String("Retain"),
		WhenScaled:  pulumi.String("Retain"),
	}
}

// Port is one named port a container listens on; its Services expose the same name and
// number, so that the Service is derived from the pod and never restated.
type Port struct {
	Name   string
	Number int
	// ServiceNumber is the Service's port when it differs from the container's (unprivileged
	// nginx listens on 8080 behind port 80). 0: the same.
	ServiceNumber int
	// ServiceName is the Service port's name when the container's cannot carry it (container
	// port names have 15 characters at most); the Service then targets the number. "": the same.
	ServiceName string
}

// ContainerPorts are the ports as a container declares them.
func ContainerPorts(ports ...Port) corev1.ContainerPortArray {
	out := corev1.ContainerPortArray{}
	for _, p := range ports {
		out = append(out, corev1.ContainerPortArgs{Name: pulumi.String(p.Name), ContainerPort: pulumi.Int(p.Number)})
	}
	return out
}

// ServicePorts are the ports as a Service exposes them: the same name and number unless the
// port says otherwise, targeting the container's port by name.
func ServicePorts(ports ...Port) corev1.ServicePortArray {
	out := corev1.ServicePortArray{}
	for _, p := range ports {
		port := corev1.ServicePortArgs{Name: pulumi.String(p.Name), Port: pulumi.Int(p.Number), TargetPort: pulumi.String(p.Name)}
		if p.ServiceNumber != 0 {
			port.Port = pulumi.Int(p.ServiceNumber)
		}
		if p.ServiceName != "" {
			port.Name, port.TargetPort = pulumi.String(p.ServiceName), pulumi.Int(p.Number)
		}
		out = append(out, port)
	}
	return out
}

// ClaimTemplate is a StatefulSet's per-pod volume: size on storageClass ("" for the
// cluster's default class), ReadWriteOnce.
func ClaimTemplate(name, storageClass, size string) corev1.PersistentVolumeClaimTypeArgs {
	spec := &corev1.PersistentVolumeClaimSpecArgs{
		AccessModes: pulumi.StringArray{pulumi.String("ReadWriteOnce")},
		Resources:   &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(size)}},
	}
	if storageClass != "" {
		spec.StorageClassName = pulumi.String(storageClass)
	}
	return corev1.PersistentVolumeClaimTypeArgs{Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name)}, Spec: spec}
}

// EnvFromSecret is an environment variable read from one key of a Secret.
func EnvFromSecret(envName string, secret pulumi.StringInput, key string) corev1.EnvVarArgs {
	return corev1.EnvVarArgs{Name: pulumi.String(envName), ValueFrom: &corev1.EnvVarSourceArgs{
		SecretKeyRef: &corev1.SecretKeySelectorArgs{Name: secret, Key: pulumi.String(key)},
	}}
}

// Stack is where a component's objects go: the namespace (as the Namespace resource's name
// and as plain text) with its DNS domain, and the instance label.
type Stack struct {
	// Namespace of every object; pass the Namespace resource's name so objects wait for it.
	Namespace pulumi.StringInput
	// NamespaceName is the same namespace as plain text, known at preview: for DNS names and
	// the names of cluster-scoped objects.
	NamespaceName string
	// Domain is the cluster DNS domain (cluster.local).
	Domain string
	// Instance is the app.kubernetes.io/instance label of every object.
	Instance string
	// Versions are the version labels of the stack's images, by image reference, as
	// validation read them (stacks.Valid.Versions); an image without a tag has none.
	Versions map[string]string
	// Zones are the cluster's zones (cluster.zones), which Spread places pods in.
	Zones stacks.Zones
}

// Labels are the labels of one component's pods running image.
func (s Stack) Labels(name, component, image string) Labels {
	return NewLabels(name, s.Instance, component, s.Versions[image])
}

// ServiceFQDN is the in-cluster DNS name of one of the stack's Services.
func (s Stack) ServiceFQDN(name string) string { return ServiceFQDN(name, s.NamespaceName, s.Domain) }
