// Package kafka declares a KRaft Kafka cluster (no ZooKeeper) on the official apache/kafka
// image: combined broker+controller nodes in one StatefulSet, their Services, a cluster id
// generated once, a disruption budget, and a Job that creates the spec's topics idempotently.
package kafka

import (
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/stacks"
)

// Args of the Kafka component.
type Args struct {
	kube.Stack
	// Image of Kafka.
	Image string
	// Workload sizes the brokers (combined broker+controller nodes) and their data PVCs.
	Workload stacks.Workload
	// MemoryLimitBytes is the brokers' memory limit as validation parsed it (0: none); the
	// heap is half of it.
	MemoryLimitBytes int64
	// StorageClass of the data PVCs; empty means the cluster's default class.
	StorageClass string
	// ProtectData protects the StatefulSet and the generated cluster id.
	ProtectData bool
	// ClusterID adopts brokers already formatted with this KRaft cluster id; empty: generated once.
	ClusterID string
	// OffsetsReplicationFactor of __consumer_offsets and TransactionReplicationFactor of
	// __transaction_state; at most the broker count.
	OffsetsReplicationFactor, TransactionReplicationFactor int
	// Topics created by the topic Job.
	Topics []stacks.KafkaTopic
	// Exporter is monitoring's Kafka exporter (one Deployment reading every broker); nil: none.
	Exporter *kube.Sidecar
}

// ExporterPort serves the Kafka exporter's /metrics.
const ExporterPort = 9308

// Kafka is the component.
type Kafka struct {
	pulumi.ResourceState

	// Brokers are the host:port addresses of every broker, from the StatefulSet's and the
	// headless Service's names (plain: known at preview).
	Brokers []string
	// Topics are the names of the topics the topic Job creates.
	Topics []string
	// ClusterID is the KRaft cluster id the brokers' storage is formatted with (not a secret).
	ClusterID pulumi.StringOutput
}

// New declares Kafka.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Kafka, error) {
	c := &Kafka{}
	if err := ctx.RegisterComponentResource("obs-stack:kafka:Kafka", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering Kafka component: %w", err)
	}
	k := args
	parent := pulumi.Parent(c)
	labels := args.Labels("kafka", "broker", k.Image)

	if k.ClusterID != "" {
		// Adopted: brokers whose storage is already formatted with this id.
		c.ClusterID = pulumi.String(k.ClusterID).ToStringOutput()
	} else {
		// Generated once, in Kafka's format (16 bytes, URL-safe base64, 22 characters). No
		// keepers, so no spec change ever replaces it: a new id would make the brokers refuse
		// their data. Protected with the data when cluster.protectData is on.
		clusterID, err := random.NewRandomId(ctx, name+"-cluster-id", &random.RandomIdArgs{
			ByteLength: pulumi.Int(16),
		}, append(kube.DataOptions(args.ProtectData), parent)...) // random's provider comes from the caller (pulumi.Providers)
		if err != nil {
			return nil, fmt.Errorf("creating the Kafka cluster id: %w", err)
		}
		c.ClusterID = clusterID.B64Url
	}

	headless, err := corev1.NewService(ctx, name+"-headless", &corev1.ServiceArgs{
		Metadata: kube.Meta(headlessName, args.Namespace, labels.All),
		Spec: &corev1.ServiceSpecArgs{
			ClusterIP: pulumi.String("None"),
			// Controllers must resolve each other to form the quorum before any of them is Ready.
			PublishNotReadyAddresses: pulumi.Bool(true),
			Selector:                 labels.Selector,
			Ports:                    kube.ServicePorts(clientPort, controllerPort),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating Service %s: %w", headlessName, err)
	}
	if _, err := corev1.NewService(ctx, name, &corev1.ServiceArgs{
		Metadata: kube.Meta(serviceName, args.Namespace, labels.All),
		Spec:     &corev1.ServiceSpecArgs{Selector: labels.Selector, Ports: kube.ServicePorts(clientPort)},
	}, parent); err != nil {
		return nil, fmt.Errorf("creating Service %s: %w", serviceName, err)
	}

	sts, err := appsv1.NewStatefulSet(ctx, name, &appsv1.StatefulSetArgs{
		Metadata: kube.Meta(statefulSetName, args.Namespace, labels.All),
		Spec: &appsv1.StatefulSetSpecArgs{
			Replicas:    pulumi.Int(k.Workload.Replicas),
			ServiceName: headless.Metadata.Name().Elem(),
			Selector:    &metav1.LabelSelectorArgs{MatchLabels: labels.Selector},
			// A quorum needs a majority of controllers up; OrderedReady would wait for kafka-0
			// to be Ready before starting kafka-1, and kafka-0 cannot be Ready alone. Parallel
			// governs creation and scaling only: a RollingUpdate still replaces one broker at a
			// time and waits for it to be Ready (maxUnavailable 1), so a rollout keeps the quorum
			// and every partition's in-sync replicas but one; the PodDisruptionBudget does the
			// same for drains.
			PodManagementPolicy: pulumi.String("Parallel"),
			// Explicit: a replaced StatefulSet (e.g. a storage change) finds its data again.
			// The PVCs outlive a destroy unless the stack owns the namespace; they then carry
			// the old cluster id and must be deleted before the next deployment.
			PersistentVolumeClaimRetentionPolicy: kube.RetainClaims(),
			Template:                             brokerPod(args, labels, c.ClusterID),
			VolumeClaimTemplates:                 corev1.PersistentVolumeClaimTypeArray{kube.ClaimTemplate("data", args.StorageClass, k.Workload.Storage)},
		},
	}, append(kube.DataOptions(args.ProtectData), parent)...)
	if err != nil {
		return nil, fmt.Errorf("creating Kafka StatefulSet: %w", err)
	}
	if k.Workload.Replicas > 1 {
		if _, err := kube.NewPDB(ctx, statefulSetName, args.Namespace, labels, parent); err != nil {
			return nil, fmt.Errorf("creating PodDisruptionBudget of Kafka: %w", err)
		}
	}

	c.Brokers = Brokers(args.Stack, k.Workload.Replicas)

	if len(k.Topics) > 0 {
		if err := topicJob(ctx, name, args, c.Brokers, parent, pulumi.DependsOn([]pulumi.Resource{sts})); err != nil {
			return nil, err
		}
	}
	for _, t := range k.Topics {
		c.Topics = append(c.Topics, t.Name)
	}
	if k.Exporter != nil {
		if err := exporter(ctx, name, args, c.Brokers, parent); err != nil {
			return nil, err
		}
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"bootstrapServers": pulumi.String(strings.Join(c.Brokers, ",")),
		"topics":           pulumi.ToStringArray(c.Topics),
		"clusterId":        c.ClusterID,
	}); err != nil {
		return nil, fmt.Errorf("registering Kafka outputs: %w", err)
	}
	return c, nil
}

// brokerPod is the pod template of the brokers.
func brokerPod(args *Args, labels kube.Labels, clusterID pulumi.StringOutput) *corev1.PodTemplateSpecArgs {
	k := args
	env := clusterID.ApplyT(func(id string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for _, e := range BrokerEnv(args, id) {
			out = append(out, corev1.EnvVar{Name: e.Name, Value: &e.Value})
		}
		return out
	}).(corev1.EnvVarArrayOutput)
	// The cluster id never changes, so it stays out of the hash (and the hash stays known at preview).
	var config []string
	for _, e := range BrokerEnv(args, "") {
		config = append(config, e.Name+"="+e.Value)
	}
	configHash := kube.Hash(StartScript(args), strings.Join(config, "\n"))

	pod := kube.Pod{
		Labels: labels, UID: uid, ConfigHash: pulumi.String(configHash),
		Volumes: []kube.Volume{
			{Mount: corev1.VolumeMountArgs{Name: pulumi.String("data"), MountPath: pulumi.String(dataDir)}}, // the claim template
			kube.EmptyDir("config", configDir),
			kube.EmptyDir("logs", logDir),
			kube.Tmp(), // the JVM's and the compression codecs' native libraries
		},
		// The root filesystem is read-only, and the image writes its final config into
		// configDir: seed an emptyDir with the image's own files so nothing it expects is missing.
		InitContainers: []corev1.ContainerArgs{{
			Name:         pulumi.String("seed-config"),
			Image:        pulumi.String(k.Image),
			Command:      pulumi.ToStringArray([]string{"sh", "-c", "cp -R " + configDir + "/. /seed/"}),
			Resources:    kube.Resources(k.Workload.Resources),
			VolumeMounts: corev1.VolumeMountArray{corev1.VolumeMountArgs{Name: pulumi.String("config"), MountPath: pulumi.String("/seed")}},
		}},
		Containers: []corev1.ContainerArgs{{
			Name:      pulumi.String("kafka"),
			Image:     pulumi.String(k.Image),
			Command:   pulumi.ToStringArray([]string{"sh", "-c", StartScript(args)}),
			Env:       env,
			Ports:     kube.ContainerPorts(clientPort, controllerPort),
			Resources: kube.Resources(k.Workload.Resources),
			ReadinessProbe: &corev1.ProbeArgs{
				TcpSocket:           &corev1.TCPSocketActionArgs{Port: pulumi.String(clientPort.Name)},
				InitialDelaySeconds: pulumi.Int(10),
				PeriodSeconds:       pulumi.Int(10),
			},
		}},
		Spec: corev1.PodSpecArgs{
			// The image turns every KAFKA_* variable into a server property, and a Service named
			// kafka would inject KAFKA_PORT, KAFKA_SERVICE_HOST, ... into the pod.
			EnableServiceLinks: pulumi.Bool(false),
		},
	}
	args.Spread(&pod.Spec, k.Workload.AntiAffinity, labels.Selector, k.Workload.Replicas, "")
	return pod.Template()
}

// topicJob creates the spec's topics and grows their partitions. Jobs are immutable, so the
// name carries a hash of the topics: changing them creates a new Job (and removes the old
// one), which runs again.
// ttlSecondsAfterFinished stays unset: Pulumi must find the finished Job on the next update.
func topicJob(ctx *pulumi.Context, name string, args *Args, brokers []string, opts ...pulumi.ResourceOption) error {
	k := args
	topics, err := json.Marshal(k.Topics)
	if err != nil {
		return fmt.Errorf("hashing the Kafka topics: %w", err)
	}
	jobName := "kafka-topics-" + kube.Hash(string(topics))[:8]
	labels := args.Labels("kafka", "topics", k.Image)
	script := pulumi.String(TopicScript(k.Topics, strings.Join(brokers, ",")))
	pod := kube.Pod{
		Labels: labels, UID: uid, Volumes: []kube.Volume{kube.Tmp()},
		Containers: []corev1.ContainerArgs{{
			Name:    pulumi.String("create-topics"),
			Image:   pulumi.String(k.Image),
			Command: pulumi.StringArray{pulumi.String("sh"), pulumi.String("-ec"), script},
			// The admin tool's JVM (default heap 256M); not sized by the spec.
			Resources: kube.Resources(stacks.Resources{
				Requests: stacks.Quantities{CPU: "50m", Memory: "256Mi"},
				Limits:   stacks.Quantities{Memory: "512Mi"},
			}),
		}},
		Spec: corev1.PodSpecArgs{RestartPolicy: pulumi.String("Never")}, // failed attempts keep their logs
	}
	args.Spread(&pod.Spec, stacks.AntiAffinityNone, labels.Selector, 1, "")
	_, err = batchv1.NewJob(ctx, name+"-topics", &batchv1.JobArgs{
		Metadata: kube.Meta(jobName, args.Namespace, labels.All),
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit: pulumi.Int(6), // brokers may still be electing leaders right after start
			Template:     pod.Template(),
		},
	}, opts...)
	if err != nil {
		return fmt.Errorf("creating Kafka topic Job %s: %w", jobName, err)
	}
	return nil
}

// exporter declares danielqsj/kafka_exporter: it reads the brokers over the Kafka protocol
// (no JVM agent in the broker image), and exports under-replicated partitions and consumer
// group lag, which the alerts use; Strimzi ships the same exporter as its Kafka Exporter.
func exporter(ctx *pulumi.Context, name string, args *Args, brokers []string, parent pulumi.ResourceOption) error {
	labels := args.Labels("kafka-exporter", "exporter", args.Exporter.Image)
	container := args.Exporter.Container(ExporterPort)
	// sarama's protocol version: Kafka 4 refuses requests older than 2.1 (KIP-896), and the
	// exporter's default is 2.0.0.
	flags := []string{fmt.Sprintf("--web.listen-address=:%d", ExporterPort), "--kafka.version=3.6.0"}
	for _, s := range brokers {
		flags = append(flags, "--kafka.server="+s)
	}
	container.Args = pulumi.ToStringArray(flags)
	pod := kube.Pod{Labels: labels, UID: 65534, Containers: []corev1.ContainerArgs{container}}
	args.Spread(&pod.Spec, stacks.AntiAffinityNone, labels.Selector, 1, "")
	_, err := appsv1.NewDeployment(ctx, name+"-exporter", pod.Deployment("kafka-exporter", args.Namespace, 1), parent)
	if err != nil {
		return fmt.Errorf("creating the Kafka exporter: %w", err)
	}
	return nil
}
