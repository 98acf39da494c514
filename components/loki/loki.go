// Package loki declares Loki in the mode the spec picks: exactly the workloads that mode runs,
// their Services, the memberlist ring, memcached caches, disruption budgets, and the
// in-cluster endpoints the gateway routes to.
package loki

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/stacks"
	"obs-stack/stacks/objstore"
)

// Args of the Loki component.
type Args struct {
	kube.Stack
	// Loki is the spec's loki section: the mode with its topology (Targets, RouteTargets,
	// RingPageTargets), image, storage, schemas, limits, caches and each target's Workload.
	Loki stacks.Loki
	// Retention, Storage and Tenants are what validation parsed of the loki section.
	Retention time.Duration
	Storage   objstore.InUse
	Tenants   []stacks.ValidTenant
	// StorageClass of the stateful targets' PVCs; empty means the cluster's default class.
	StorageClass string
	// ProtectData protects the StatefulSets holding logs.
	ProtectData bool
	// MemcachedExporter runs beside every memcached (monitoring); nil runs none.
	MemcachedExporter *kube.Sidecar
	// PrometheusURL is where KEDA reads the query scheduler's queue (autoscaling.onQueue).
	PrometheusURL string
}

// MemcachedExporterPort serves the memcached exporter's /metrics.
const MemcachedExporterPort = 9150

// Loki is the component.
type Loki struct {
	pulumi.ResourceState

	// Mode is the deployment mode that decided which objects exist.
	Mode string
	// ConfigYAML is Loki's rendered config.
	ConfigYAML string
	// Routes maps each gateway route group (stacks.RoutePush, ...) to the base URL of the
	// Service that serves it (plain: the Services have fixed names).
	Routes map[string]string
	// RingPages maps a ring page path (e.g. /distributor/ring) to the base URL serving it.
	RingPages map[string]string
	// Services are the ClusterIP Services by component name (single-binary, distributor, ...).
	Services map[string]*corev1.Service
}

const uid = 10001 // the grafana/loki image's user

// New declares Loki.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Loki, error) {
	c := &Loki{Mode: args.Loki.Mode, Services: map[string]*corev1.Service{}}
	if err := ctx.RegisterComponentResource("obs-stack:loki:Loki", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering Loki component: %w", err)
	}
	l := args.Loki
	n := names{namespace: args.NamespaceName, domain: args.Domain}
	parent := pulumi.Parent(c)

	yamlText, err := Render(BuildConfig(ConfigInput{Loki: l, Retention: args.Retention, Tenants: args.Tenants, Storage: args.Storage, Namespace: args.NamespaceName, Domain: args.Domain, Zones: args.Zones}))
	if err != nil {
		return nil, err
	}
	c.ConfigYAML = yamlText

	store := storagePod(args.Storage)
	saMeta := kube.Meta("loki", args.Namespace, args.Labels("loki", "loki", l.Image).All)
	annotations := kube.Owned()
	maps.Copy(annotations, pulumi.ToStringMap(store.Annotations)) // workload identity
	saMeta.Annotations = annotations
	sa, err := corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{
		Metadata:                     saMeta,
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating Loki ServiceAccount: %w", err)
	}
	// Auto-named: a config change creates a new ConfigMap, the pods roll onto it, the old one goes.
	cm, err := corev1.NewConfigMap(ctx, name+"-config", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{Namespace: args.Namespace, Labels: args.Labels("loki", "config", l.Image).All, Annotations: kube.Owned()},
		Data:     pulumi.StringMap{configFile: pulumi.String(yamlText)},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating Loki ConfigMap: %w", err)
	}

	runtimeText, err := yamlOf(BuildRuntimeConfig(args.Tenants))
	if err != nil {
		return nil, err
	}
	// Named, not auto-named, and in no pod template's hash: a change updates it in place and
	// Loki reloads the file (see runtime.go).
	if _, err := corev1.NewConfigMap(ctx, name+"-runtime", &corev1.ConfigMapArgs{
		Metadata: kube.Meta(RuntimeConfigMap, args.Namespace, args.Labels("loki", "runtime-config", l.Image).All),
		Data:     pulumi.StringMap{runtimeFile: pulumi.String(runtimeText)},
	}, parent); err != nil {
		return nil, fmt.Errorf("creating Loki's runtime ConfigMap: %w", err)
	}

	w := workloads{ctx: ctx, name: name, args: args, names: n, parent: parent, serviceAccount: sa, configMap: cm, configHash: kube.Hash(yamlText)}
	for _, t := range l.Targets() {
		svc, err := w.target(t)
		if err != nil {
			return nil, err
		}
		c.Services[t.Name] = svc
	}
	if usesMemberlist(l) {
		if _, err := w.service(n.memberlist(), args.Labels("loki", "memberlist", l.Image), true,
			pulumi.ToStringMap(kube.AppSelector("loki", args.Instance)),
			kube.ServicePorts(memberlistPort)); err != nil {
			return nil, err
		}
	}
	for _, cache := range []struct {
		name string
		spec stacks.Cache
	}{{chunksCache, l.Caches.ChunksCache}, {resultsCache, l.Caches.ResultsCache}} {
		if cache.spec.Enabled {
			if err := w.memcached(cache.name, cache.spec); err != nil {
				return nil, err
			}
		}
	}

	// Plain URLs: the Services' names are fixed, so they are known at preview.
	c.Routes = map[string]string{}
	for group, target := range l.RouteTargets() {
		c.Routes[group] = n.httpURL(target)
	}
	c.RingPages = map[string]string{}
	for path, target := range l.RingPageTargets() {
		c.RingPages[path] = n.httpURL(target)
	}

	outputs := pulumi.Map{"mode": pulumi.String(c.Mode)}
	for group, u := range c.Routes {
		outputs[group+"URL"] = pulumi.String(u)
	}
	if err := ctx.RegisterResourceOutputs(c, outputs); err != nil {
		return nil, fmt.Errorf("registering Loki outputs: %w", err)
	}
	return c, nil
}

// workloads creates the per-target objects; it carries what they all share.
type workloads struct {
	ctx            *pulumi.Context
	name           string
	args           *Args
	names          names
	parent         pulumi.ResourceOption
	serviceAccount *corev1.ServiceAccount
	configMap      *corev1.ConfigMap
	configHash     string
}

// The ports of every Loki target; memberlist only where the ring gossips.
var (
	targetPorts    = []kube.Port{{Name: "http", Number: HTTPPort}, {Name: "grpc", Number: GRPCPort}}
	memberlistPort = kube.Port{Name: "tcp-memberlist", Number: MemberlistPort}
)

func (w workloads) service(svcName string, labels kube.Labels, headless bool, selector pulumi.StringMap, ports corev1.ServicePortArray) (*corev1.Service, error) {
	spec := &corev1.ServiceSpecArgs{Selector: selector, Ports: ports}
	if headless {
		// Peers must find each other before they are Ready (ring join, StatefulSet DNS).
		spec.ClusterIP = pulumi.String("None")
		spec.PublishNotReadyAddresses = pulumi.Bool(true)
	}
	svc, err := corev1.NewService(w.ctx, svcName, &corev1.ServiceArgs{
		Metadata: kube.Meta(svcName, w.args.Namespace, labels.All),
		Spec:     spec,
	}, w.parent)
	if err != nil {
		return nil, fmt.Errorf("creating Service %s: %w", svcName, err)
	}
	return svc, nil
}

// target creates one target's Services, workload and disruption budget; it returns the
// ClusterIP Service.
func (w workloads) target(t stacks.Target) (*corev1.Service, error) {
	l := w.args.Loki
	labels := w.args.Labels("loki", t.Name, l.Image)
	svcName := w.names.service(t.Name)
	ports := kube.ServicePorts(targetPorts...)
	svc, err := w.service(svcName, labels, false, labels.Selector, ports)
	if err != nil {
		return nil, err
	}
	var headless *corev1.Service
	if needsHeadless(l.Topology(), t.TargetKind) {
		if headless, err = w.service(w.names.headless(t.Name), labels, true, labels.Selector, ports); err != nil {
			return nil, err
		}
	}

	containerPorts := kube.ContainerPorts(targetPorts...)
	if usesMemberlist(l) {
		containerPorts = append(containerPorts, kube.ContainerPorts(memberlistPort)...)
	}
	// The credentials of every store in use: new data's, and an older period's.
	store := storagePod(w.args.Storage)
	var env corev1.EnvVarArray
	for _, e := range store.Env {
		env = append(env, kube.EnvFromSecret(e.Name, pulumi.String(e.Secret), e.Key))
	}
	for _, name := range slices.Sorted(maps.Keys(store.Vars)) {
		env = append(env, corev1.EnvVarArgs{Name: pulumi.String(name), Value: pulumi.String(store.Vars[name])})
	}
	podLabels := labels
	if len(store.Labels) > 0 {
		podLabels.All = pulumi.StringMap{}
		maps.Copy(podLabels.All, labels.All)
		maps.Copy(podLabels.All, pulumi.ToStringMap(store.Labels))
	}
	volumes := []kube.Volume{
		kube.ConfigVolume(w.configMap.Metadata.Name(), configDir),
		kube.ConfigMapVolume("runtime", pulumi.String(RuntimeConfigMap), runtimeDir),
		{Mount: corev1.VolumeMountArgs{Name: pulumi.String("storage"), MountPath: pulumi.String(dataDir)}}, // the claim template, or the emptyDir below
		kube.Tmp(),
	}
	for _, f := range store.Files {
		volumes = append(volumes, kube.SecretFileVolume(f.Volume, f.Secret, f.Key, f.Path, f.Dir))
	}
	var scratch corev1.VolumeArray
	if !t.Stateful {
		scratch = corev1.VolumeArray{corev1.VolumeArgs{Name: pulumi.String("storage"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}}
	}
	grace := 30
	if t.HoldsData {
		// An ingester keeps its WAL on the PVC (common.path_prefix), so one stopped for a
		// rollout does not flush: Loki 3.7 flushes on shutdown only without the WAL or with
		// ingester.wal.flush_on_shutdown (pkg/ingester/ingester.go, NewLifecycler), and the
		// next pod replays the WAL. 300 s covers the WAL checkpoint on stop, and a flush a
		// person starts with /ingester/shutdown?flush=true before the pod goes. The
		// StatefulSet's RollingUpdate replaces one pod at a time and waits for it to be Ready
		// (podManagementPolicy Parallel governs creation and scaling only), so a rollout never
		// takes two replicas of a stream at once.
		grace = 300
	}
	pod := kube.Pod{
		Labels: podLabels, UID: uid, ConfigHash: pulumi.String(w.configHash), Volumes: volumes, LaterVolumes: scratch,
		Containers: []corev1.ContainerArgs{{
			Name:  pulumi.String("loki"),
			Image: pulumi.String(l.Image),
			Args: pulumi.ToStringArray([]string{
				"-config.file=" + configDir + "/" + configFile,
				"-target=" + t.Flag,
				"-config.expand-env=true",
			}),
			Ports:     containerPorts,
			Env:       env,
			Resources: kube.Resources(t.Workload.Resources),
			ReadinessProbe: &corev1.ProbeArgs{
				HttpGet:             &corev1.HTTPGetActionArgs{Path: pulumi.String("/ready"), Port: pulumi.String("http")},
				InitialDelaySeconds: pulumi.Int(15),
				TimeoutSeconds:      pulumi.Int(1),
			},
		}},
		Spec: corev1.PodSpecArgs{
			ServiceAccountName:            w.serviceAccount.Metadata.Name().Elem(),
			TerminationGracePeriodSeconds: pulumi.Int(grace),
		},
	}
	workloadName := svcName
	if t.Stateful {
		err = w.statefulSets(t, pod, headless)
	} else {
		w.args.Spread(&pod.Spec, t.Workload.AntiAffinity, labels.Selector, t.Workload.Peak(), "")
		err = kube.NewDeployment(w.ctx, workloadName, w.args.Namespace, pod, t.Workload, w.parent)
		if err == nil && t.Workload.Autoscaling.OnQueue {
			err = w.queueScaler(workloadName, t.Workload)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("creating Loki %s workload: %w", t.Name, err)
	}
	if t.Stateful && t.Workload.Replicas > 1 {
		if _, err := kube.NewPDB(w.ctx, workloadName, w.args.Namespace, labels, w.parent); err != nil {
			return nil, fmt.Errorf("creating PodDisruptionBudget of Loki %s: %w", t.Name, err)
		}
	}
	return svc, nil
}

// ZoneEnv holds the zone of a Loki pod of a per-zone StatefulSet; Loki's config reads it as
// common.ring.instance_availability_zone (empty in the other pods).
const ZoneEnv = "LOKI_ZONE"

// statefulSets declares a stateful target's StatefulSets: one, or under zone-aware replication
// one per zone (stacks.Zones.Sets), each pinned to its zone with its share of the replicas and
// the zone's storage class. The per-zone sets roll one zone at a time: each depends on the one
// before, and Pulumi updates a StatefulSet only after the one it depends on has finished its
// rollout (all its pods updated and Ready), while each set replaces one pod at a time. A
// stream keeps its copies in the other zones meanwhile, so writes and queries go on.
func (w workloads) statefulSets(t stacks.Target, pod kube.Pod, headless *corev1.Service) error {
	var before []pulumi.Resource
	for _, set := range w.args.Zones.Sets(t, w.args.StorageClass) {
		p := pod
		if set.Zone != "" {
			p.Labels = pod.Labels.Selecting(kube.ZoneLabel, set.Zone)
			p.Containers = slices.Clone(pod.Containers)
			p.Containers[0].Env = append(slices.Clone(pod.Containers[0].Env.(corev1.EnvVarArray)),
				corev1.EnvVarArgs{Name: pulumi.String(ZoneEnv), Value: pulumi.String(set.Zone)})
		}
		w.args.Spread(&p.Spec, t.Workload.AntiAffinity, p.Labels.Selector, set.Replicas, set.Zone)
		opts := append(kube.DataOptions(w.args.ProtectData), w.parent, pulumi.DependsOn(before))
		sts, err := appsv1.NewStatefulSet(w.ctx, set.Name, &appsv1.StatefulSetArgs{
			Metadata: kube.Meta(set.Name, w.args.Namespace, p.Labels.All),
			Spec: &appsv1.StatefulSetSpecArgs{
				Replicas:            pulumi.Int(set.Replicas),
				ServiceName:         headless.Metadata.Name().Elem(),
				Selector:            &metav1.LabelSelectorArgs{MatchLabels: p.Labels.Selector},
				PodManagementPolicy: pulumi.String("Parallel"),
				Template:            p.Template(),
				VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{
					kube.ClaimTemplate("storage", set.StorageClass, t.Workload.Storage),
				},
				PersistentVolumeClaimRetentionPolicy: kube.RetainClaims(),
			},
		}, opts...)
		if err != nil {
			return err
		}
		before = []pulumi.Resource{sts}
	}
	return nil
}

// memcached declares one cache: a Deployment whose memory is derived from the cache size,
// and the headless Service Loki discovers its pods through (SRV records).
func (w workloads) memcached(cacheName string, cache stacks.Cache) error {
	labels := w.args.Labels("memcached", cacheName, cache.Image)
	svcName := w.names.service(cacheName)
	// Loki finds the pods through SRV records of this port's name; container port names are
	// limited to 15 characters, so the target is the number.
	client := kube.Port{Name: "client", Number: MemcachedPort, ServiceName: "memcached-client"}
	if _, err := w.service(svcName, labels, true, labels.Selector, kube.ServicePorts(client)); err != nil {
		return err
	}
	// Sized by the spec's one rule (memory = 1.2 x the cache size), as the capacity checks size it.
	workload := cache.Workload()
	containers := []corev1.ContainerArgs{{
		Name:  pulumi.String("memcached"),
		Image: pulumi.String(cache.Image),
		Args: pulumi.ToStringArray([]string{
			"-m", fmt.Sprint(cache.SizeMB), "-I", "5m", "-c", "16384", "-v",
		}),
		Ports:     kube.ContainerPorts(client),
		Resources: kube.Resources(workload.Resources),
	}}
	if e := w.args.MemcachedExporter; e != nil {
		containers = append(containers, e.Container(MemcachedExporterPort,
			fmt.Sprintf("--memcached.address=localhost:%d", MemcachedPort), fmt.Sprintf("--web.listen-address=:%d", MemcachedExporterPort)))
	}
	pod := kube.Pod{Labels: labels, UID: 11211, Containers: containers} // the image's memcache user
	w.args.Spread(&pod.Spec, cache.AntiAffinity, labels.Selector, workload.Peak(), "")
	err := kube.NewDeployment(w.ctx, svcName, w.args.Namespace, pod, workload, w.parent)
	if err != nil {
		return fmt.Errorf("creating memcached %s: %w", cacheName, err)
	}
	return nil
}

// storagePod gathers what the stores in use ask of the Loki pods: Secret keys as environment
// variables and files, plain variables, ServiceAccount annotations and pod labels.
func storagePod(stores objstore.InUse) objstore.Pod {
	all := objstore.Pod{Vars: map[string]string{}, Annotations: map[string]string{}, Labels: map[string]string{}}
	for _, s := range stores.All {
		p := s.Pod()
		all.Env = append(all.Env, p.Env...)
		all.Files = append(all.Files, p.Files...)
		maps.Copy(all.Vars, p.Vars)
		maps.Copy(all.Annotations, p.Annotations)
		maps.Copy(all.Labels, p.Labels)
	}
	return all
}

// Querier workers a querier runs (Loki 3.7's querier.max-concurrent default,
// pkg/querier/querier.go) and the share of them the queue may keep busy: Loki's "Autoscaling
// queriers" guide keeps 75% in use, floor(0.75 x workers) queries in flight per querier.
const (
	querierWorkers = 4
	queueThreshold = querierWorkers * 3 / 4
)

// queueScaler is the KEDA ScaledObject (keda.sh/v1alpha1) that scales the queriers on the
// query scheduler's queue, as Loki's "Autoscaling queriers" guide configures it: the sum over
// the schedulers of the 0.75 quantile of loki_query_scheduler_inflight_requests, its highest
// in the last 2 minutes, against queueThreshold per querier; down only after 30 minutes.
func (w workloads) queueScaler(deployment string, wl stacks.Workload) error {
	query := fmt.Sprintf(`sum(max_over_time(loki_query_scheduler_inflight_requests{namespace=%q, quantile="0.75"}[2m]))`, w.args.NamespaceName)
	_, err := apiextensions.NewCustomResource(w.ctx, deployment, &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("keda.sh/v1alpha1"),
		Kind:       pulumi.String("ScaledObject"),
		Metadata:   kube.Meta(deployment, w.args.Namespace, w.args.Labels("loki", "autoscaler", w.args.Loki.Image).All),
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
			"scaleTargetRef":  pulumi.Map{"kind": pulumi.String("Deployment"), "name": pulumi.String(deployment)},
			"minReplicaCount": pulumi.Int(wl.Replicas),
			"maxReplicaCount": pulumi.Int(wl.Autoscaling.MaxReplicas),
			"triggers": pulumi.Array{pulumi.Map{"type": pulumi.String("prometheus"), "metadata": pulumi.StringMap{
				"serverAddress": pulumi.String(w.args.PrometheusURL),
				"query":         pulumi.String(query),
				"threshold":     pulumi.String(fmt.Sprint(queueThreshold)),
			}}},
			"advanced": pulumi.Map{"horizontalPodAutoscalerConfig": pulumi.Map{"behavior": pulumi.Map{
				"scaleDown": pulumi.Map{"stabilizationWindowSeconds": pulumi.Int(1800)},
			}}},
		}},
	}, w.parent)
	if err != nil {
		return fmt.Errorf("creating the KEDA ScaledObject of %s: %w", deployment, err)
	}
	return nil
}
