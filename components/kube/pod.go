package kube

import (
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/stacks"
)

// Pod is a pod template with the hardening every obs-stack pod has: the pod runs as UID
// (PodSecurityContext), every container drops all capabilities on a read-only root filesystem
// (ContainerSecurityContext), no service account token unless asked, and the one rollout
// mechanism: a config-hash annotation that changes with the config the pods read.
type Pod struct {
	// Labels of the pods (All).
	Labels Labels
	// UID every container runs as.
	UID int
	// SupplementalGroups the containers also run with; none by default.
	SupplementalGroups []int
	// ConfigHash is the config-hash annotation (see Hash): a new value rolls the pods. Nil: none.
	ConfigHash pulumi.StringInput
	// ServiceAccountToken mounts the service account's token, for pods that call the API server.
	ServiceAccountToken bool
	// Volumes the main container (the first) mounts, in order; they replace its VolumeMounts.
	Volumes []Volume
	// LaterVolumes are pod volumes listed after those of Volumes (the source of a mount-only Volume).
	LaterVolumes corev1.VolumeArray
	// Containers, the main one first, and InitContainers; their security contexts are set here.
	Containers, InitContainers []corev1.ContainerArgs
	// Spec holds the rest of the pod spec (affinity, service account, grace period, ...).
	Spec corev1.PodSpecArgs
}

// Volume is one volume and where the main container mounts it.
type Volume struct {
	Mount corev1.VolumeMountArgs
	// Source is the pod's volume; nil when it comes from elsewhere (a StatefulSet's claim
	// template, or LaterVolumes).
	Source *corev1.VolumeArgs
}

// EmptyDir is an emptyDir volume mounted at path.
func EmptyDir(name, path string) Volume {
	return Volume{
		Mount:  corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(path)},
		Source: &corev1.VolumeArgs{Name: pulumi.String(name), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}},
	}
}

// Tmp is a writable /tmp on the read-only root filesystem.
func Tmp() Volume { return EmptyDir("tmp", "/tmp") }

// ConfigVolume mounts a ConfigMap read-only at dir, as the volume "config".
func ConfigVolume(configMap pulumi.StringPtrInput, dir string) Volume {
	return ConfigMapVolume("config", configMap, dir)
}

// ConfigMapVolume mounts a ConfigMap read-only at dir as the volume name. A whole-directory
// mount (no subPath), so the kubelet refreshes the files when the ConfigMap changes.
func ConfigMapVolume(name string, configMap pulumi.StringPtrInput, dir string) Volume {
	return Volume{
		Mount:  corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(dir), ReadOnly: pulumi.Bool(true)},
		Source: &corev1.VolumeArgs{Name: pulumi.String(name), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: configMap}},
	}
}

// Template is the pod template.
func (p Pod) Template() *corev1.PodTemplateSpecArgs {
	spec := p.Spec
	spec.AutomountServiceAccountToken = pulumi.Bool(p.ServiceAccountToken)
	security := PodSecurityContext(p.UID)
	if len(p.SupplementalGroups) > 0 {
		security.SupplementalGroups = pulumi.ToIntArray(p.SupplementalGroups)
	}
	spec.SecurityContext = security
	var mounts corev1.VolumeMountArray
	var sources corev1.VolumeArray
	for _, v := range p.Volumes {
		mounts = append(mounts, v.Mount)
		if v.Source != nil {
			sources = append(sources, *v.Source)
		}
	}
	if sources = append(sources, p.LaterVolumes...); len(sources) > 0 {
		spec.Volumes = sources
	}
	spec.Containers = hardened(p.Containers, mounts)
	if len(p.InitContainers) > 0 {
		spec.InitContainers = hardened(p.InitContainers, nil)
	}
	meta := &metav1.ObjectMetaArgs{Labels: p.Labels.All}
	if p.ConfigHash != nil {
		meta.Annotations = pulumi.StringMap{ConfigHashAnnotation: p.ConfigHash}
	}
	return &corev1.PodTemplateSpecArgs{Metadata: meta, Spec: &spec}
}

// hardened sets every container's security context; the first also gets mounts.
func hardened(containers []corev1.ContainerArgs, mounts corev1.VolumeMountArray) corev1.ContainerArray {
	out := corev1.ContainerArray{}
	for i, c := range containers {
		c.SecurityContext = ContainerSecurityContext()
		if i == 0 && len(mounts) > 0 {
			c.VolumeMounts = mounts
		}
		out = append(out, c)
	}
	return out
}

// MetricsPortName names the port a monitoring sidecar or pod serves /metrics on; monitoring's
// PodMonitors scrape it by this name.
const MetricsPortName = "metrics"

// Sidecar is a metrics exporter beside a pod's main container.
type Sidecar struct {
	Image     string
	Resources stacks.Resources
}

// Container is the exporter's container, serving /metrics on port (named MetricsPortName).
func (s Sidecar) Container(port int, args ...string) corev1.ContainerArgs {
	p := Port{Name: MetricsPortName, Number: port}
	return corev1.ContainerArgs{
		Name:      pulumi.String("exporter"),
		Image:     pulumi.String(s.Image),
		Args:      pulumi.ToStringArray(args),
		Ports:     ContainerPorts(p),
		Resources: Resources(s.Resources),
		ReadinessProbe: &corev1.ProbeArgs{
			HttpGet: &corev1.HTTPGetActionArgs{Path: pulumi.String("/metrics"), Port: pulumi.String(p.Name)},
		},
	}
}

// Deployment is a Deployment named name of replicas of the pod, selected by its selector labels.
func (p Pod) Deployment(name string, namespace pulumi.StringInput, replicas int) *appsv1.DeploymentArgs {
	return &appsv1.DeploymentArgs{
		Metadata: Meta(name, namespace, p.Labels.All),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(replicas),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: p.Labels.Selector},
			Template: p.Template(),
		},
	}
}

// SecretFileVolume mounts one key of a Secret read-only as dir/path, as the volume name.
func SecretFileVolume(name, secret, key, path, dir string) Volume {
	return Volume{
		Mount: corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(dir), ReadOnly: pulumi.Bool(true)},
		Source: &corev1.VolumeArgs{Name: pulumi.String(name), Secret: &corev1.SecretVolumeSourceArgs{
			SecretName: pulumi.String(secret), Items: corev1.KeyToPathArray{corev1.KeyToPathArgs{Key: pulumi.String(key), Path: pulumi.String(path)}},
		}},
	}
}
