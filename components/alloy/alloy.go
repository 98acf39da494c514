// Package alloy declares Grafana Alloy as a DaemonSet: it collects the logs of the pods on its
// node and consumes the stack's Kafka topics, and writes both to Loki through the gateway.
package alloy

import (
	"errors"
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/kube"
	"obs-stack/stacks"
)

// Args of the Alloy component.
type Args struct {
	kube.Stack
	// Image of Alloy.
	Image string
	// Resources of the Alloy container.
	Resources stacks.Resources
	// PodLogs collects the logs of the pods on each node.
	PodLogs bool
	// PodLogSource is SourceAPI or SourceFile; used with PodLogs.
	PodLogSource string
	// PushURL is the gateway's push URL, e.g. http://loki-gateway.observability.svc.cluster.local/loki/api/v1/push.
	PushURL string
	// Auth is the gateway's basic auth; nil while Loki auth is off.
	Auth *Auth
	// Kafka is the Kafka source; nil when Alloy consumes no Kafka.
	Kafka *KafkaSource
	// Tenants route the logs of their namespaces and the messages of their topics to their own
	// tenant; everything else goes to Auth's (the default tenant). Needs Auth.
	Tenants []Tenant
}

// Tenant is one Loki tenant Alloy writes to. The gateway pins X-Scope-OrgID to the tenant of
// the basic-auth user, so Alloy writes each tenant's entries with that tenant's credentials
// (one loki.write per tenant, see tenantRoutes in config.go).
type Tenant struct {
	Name       string   // the tenant id (valid Loki tenant id, validated upstream)
	Namespaces []string // pod namespaces whose logs belong to it
	Topics     []string // Kafka topics whose messages belong to it (a subset of Kafka.Topics)
	// CredentialsSecret names a Secret (in the stack namespace) with keys "username" and
	// "password" for this tenant's gateway user.
	CredentialsSecret pulumi.StringInput
}

// Auth is how Alloy authenticates to the gateway.
type Auth struct {
	// CredentialsSecret names a Secret (in the stack namespace) with keys "username" and "password".
	CredentialsSecret pulumi.StringInput
	// Tenant is sent as X-Scope-OrgID.
	Tenant string
}

// KafkaSource is what Alloy consumes from Kafka.
type KafkaSource struct {
	// Brokers are host:port addresses.
	Brokers []string
	// Topics to consume; required.
	Topics []string
	// GroupID is the consumer group all Alloy pods share.
	GroupID string
}

// Alloy is the component.
type Alloy struct {
	pulumi.ResourceState

	// ConfigText is the rendered Alloy config.
	ConfigText string
	// MetricsService is the name of the Service exposing :12345 /metrics.
	MetricsService pulumi.StringOutput
}

const (
	objectName  = "alloy" // explicit name of every object but the auto-named ConfigMap
	uid         = 473     // the alloy user the grafana/alloy image creates; the image itself defaults to root
	HTTPPort    = 12345   // Alloy's UI and /metrics (exported for NetworkPolicies)
	configDir   = "/etc/alloy"
	configFile  = "config.alloy"
	storagePath = "/var/lib/alloy/data"
)

// metricsPort serves Alloy's UI, /-/ready and /metrics.
var metricsPort = kube.Port{Name: "http-metrics", Number: HTTPPort}

// New declares Alloy.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Alloy, error) {
	if err := args.check(); err != nil {
		return nil, err
	}
	c := &Alloy{}
	if err := ctx.RegisterComponentResource("obs-stack:alloy:Alloy", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering Alloy component: %w", err)
	}
	parent := pulumi.Parent(c)
	labels := args.Labels(objectName, "collector", args.Image)
	podLogs := args.PodLogs
	fileSource := podLogs && args.PodLogSource == SourceFile

	text, err := BuildConfig(args.configInput())
	if err != nil {
		return nil, err
	}
	c.ConfigText = text

	sa, err := corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{
		Metadata: kube.Meta(objectName, args.Namespace, labels.All),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating Alloy ServiceAccount: %w", err)
	}
	if podLogs {
		if err := rbac(ctx, name, args, labels, sa, args.PodLogSource, parent); err != nil {
			return nil, err
		}
	}

	// Auto-named: a config change creates a new ConfigMap, the pods roll onto it, the old one goes.
	cm, err := corev1.NewConfigMap(ctx, name+"-config", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{Namespace: args.Namespace, Labels: labels.All, Annotations: kube.Owned()},
		Data:     pulumi.StringMap{configFile: pulumi.String(c.ConfigText)},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating Alloy ConfigMap: %w", err)
	}

	env := corev1.EnvVarArray{
		// The config's discovery selector keeps each pod to its own node's pods.
		corev1.EnvVarArgs{Name: pulumi.String(envNodeName), ValueFrom: &corev1.EnvVarSourceArgs{
			FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String("spec.nodeName")},
		}},
	}
	if args.Auth != nil {
		env = append(env, kube.EnvFromSecret(envUsername, args.Auth.CredentialsSecret, "username"), kube.EnvFromSecret(envPassword, args.Auth.CredentialsSecret, "password"))
	}
	for i, t := range args.Tenants {
		// The i-th tenant's loki.write reads these (TenantEnv); the config derives the names from the same list.
		username, password := TenantEnv(i)
		env = append(env, kube.EnvFromSecret(username, t.CredentialsSecret, "username"), kube.EnvFromSecret(password, t.CredentialsSecret, "password"))
	}

	volumes := []kube.Volume{
		kube.ConfigVolume(cm.Metadata.Name(), configDir),
		// Alloy's data (file positions; Kafka offsets live in Kafka) survives container restarts, not pod replacement.
		kube.EmptyDir("storage", storagePath),
		kube.Tmp(),
	}
	var groups []int
	if fileSource {
		volumes = append(volumes, kube.Volume{
			Mount: corev1.VolumeMountArgs{Name: pulumi.String("pod-logs"), MountPath: pulumi.String(podLogsDir), ReadOnly: pulumi.Bool(true)},
			Source: &corev1.VolumeArgs{Name: pulumi.String("pod-logs"), HostPath: &corev1.HostPathVolumeSourceArgs{
				Path: pulumi.String(podLogsDir), Type: pulumi.String("Directory"),
			}},
		})
		// The kubelet writes log files root:root 0640: group 0 reads them without running as root.
		// The hostPath volume needs the namespace at Pod Security level "privileged" (baseline forbids hostPath).
		groups = []int{0}
	}

	_, err = appsv1.NewDaemonSet(ctx, name, &appsv1.DaemonSetArgs{
		Metadata: kube.Meta(objectName, args.Namespace, labels.All),
		Spec: &appsv1.DaemonSetSpecArgs{
			Selector: &metav1.LabelSelectorArgs{MatchLabels: labels.Selector},
			Template: kube.Pod{
				Labels: labels, UID: uid, SupplementalGroups: groups, ConfigHash: pulumi.String(kube.Hash(c.ConfigText)), Volumes: volumes,
				// Discovery and API tailing talk to the API server; nothing else does.
				ServiceAccountToken: podLogs,
				Containers: []corev1.ContainerArgs{{
					Name:  pulumi.String(objectName),
					Image: pulumi.String(args.Image),
					Args: pulumi.ToStringArray([]string{
						"run", configDir + "/" + configFile,
						"--storage.path=" + storagePath,
						fmt.Sprintf("--server.http.listen-addr=0.0.0.0:%d", HTTPPort),
					}),
					Ports: kube.ContainerPorts(metricsPort),
					Env:   env,
					ReadinessProbe: &corev1.ProbeArgs{
						HttpGet: &corev1.HTTPGetActionArgs{Path: pulumi.String("/-/ready"), Port: pulumi.String(metricsPort.Name)},
					},
					Resources: kube.Resources(args.Resources),
				}},
				Spec: corev1.PodSpecArgs{ServiceAccountName: sa.Metadata.Name().Elem()},
			}.Template(),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating Alloy DaemonSet: %w", err)
	}

	// For scraping Alloy's own /metrics (monitoring's ServiceMonitor); Alloy is not a Grafana datasource.
	svc, err := corev1.NewService(ctx, name, &corev1.ServiceArgs{
		Metadata: kube.Meta(objectName, args.Namespace, labels.All),
		Spec: &corev1.ServiceSpecArgs{
			Selector: labels.Selector,
			Ports:    kube.ServicePorts(metricsPort),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating Alloy Service: %w", err)
	}
	c.MetricsService = svc.Metadata.Name().Elem()

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"metricsService": c.MetricsService}); err != nil {
		return nil, fmt.Errorf("registering Alloy outputs: %w", err)
	}
	return c, nil
}

// check rejects arguments the config cannot be built from.
func (args *Args) check() error {
	var errs []error
	if args.PushURL == "" {
		errs = append(errs, errors.New("alloy: PushURL is required"))
	}
	if args.Auth != nil && args.Auth.CredentialsSecret == nil {
		errs = append(errs, errors.New("alloy: Auth given without CredentialsSecret"))
	}
	if args.Kafka != nil && (len(args.Kafka.Brokers) == 0 || len(args.Kafka.Topics) == 0) {
		errs = append(errs, errors.New("alloy: Kafka needs both Brokers and Topics"))
	}
	if len(args.Tenants) > 0 && args.Auth == nil {
		errs = append(errs, errors.New("alloy: Tenants given without Auth (the gateway maps each user to its tenant)"))
	}
	for _, t := range args.Tenants {
		if t.CredentialsSecret == nil {
			errs = append(errs, fmt.Errorf("alloy: tenant %q given without CredentialsSecret", t.Name))
		}
	}
	return errors.Join(errs...)
}

// configInput is the config's input: all of it is known at preview.
func (args *Args) configInput() ConfigInput {
	in := ConfigInput{PodLogs: args.PodLogs, PodLogSource: args.PodLogSource, PushURL: args.PushURL}
	if args.Auth != nil {
		in.BasicAuth, in.TenantID = true, args.Auth.Tenant
	}
	if args.Kafka != nil {
		in.KafkaTopics, in.KafkaGroupID, in.KafkaBrokers = args.Kafka.Topics, args.Kafka.GroupID, args.Kafka.Brokers
	}
	for _, t := range args.Tenants {
		in.Tenants = append(in.Tenants, TenantRoute{Name: t.Name, Namespaces: t.Namespaces, Topics: t.Topics})
	}
	return in
}

// rbac grants what the config's Kubernetes components call, cluster-wide (pods of every namespace).
func rbac(ctx *pulumi.Context, name string, args *Args, labels kube.Labels, sa *corev1.ServiceAccount, source string, parent pulumi.ResourceOption) error {
	verbs := func(v ...string) pulumi.StringArray { return pulumi.ToStringArray(v) }
	rules := rbacv1.PolicyRuleArray{
		// discovery.kubernetes role "pod" lists and watches pods (no namespaces or nodes: no attach_metadata).
		rbacv1.PolicyRuleArgs{ApiGroups: verbs(""), Resources: verbs("pods"), Verbs: verbs("list", "watch")},
	}
	if source == SourceAPI {
		rules = append(rules,
			// loki.source.kubernetes gets a pod to learn whether its container has terminated...
			rbacv1.PolicyRuleArgs{ApiGroups: verbs(""), Resources: verbs("pods"), Verbs: verbs("get")},
			// ...and streams the container's log through pods/log.
			rbacv1.PolicyRuleArgs{ApiGroups: verbs(""), Resources: verbs("pods/log"), Verbs: verbs("get")},
		)
	}
	// Cluster-scoped names carry the namespace: two stacks (dev, prod) may share a cluster.
	clusterName := "obs-stack-alloy-" + args.NamespaceName
	role, err := rbacv1.NewClusterRole(ctx, name, &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(clusterName), Labels: labels.All, Annotations: kube.Owned()},
		Rules:    rules,
	}, parent)
	if err != nil {
		return fmt.Errorf("creating Alloy ClusterRole: %w", err)
	}
	_, err = rbacv1.NewClusterRoleBinding(ctx, name, &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(clusterName), Labels: labels.All, Annotations: kube.Owned()},
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"), Name: role.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: sa.Metadata.Name().Elem(), Namespace: args.Namespace,
		}},
	}, parent)
	if err != nil {
		return fmt.Errorf("creating Alloy ClusterRoleBinding: %w", err)
	}
	return nil
}
