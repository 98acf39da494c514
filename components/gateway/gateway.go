// Package gateway declares the nginx gateway in front of Loki: its routes are generated from
// the Loki component's endpoints for the active mode, and with Loki auth on it requires basic
// auth (a generated password, stored only in a Secret) and pins the tenant header.
package gateway

import (
	"fmt"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"obs-stack/components/gateway/nginx"
	"obs-stack/components/kube"
	"obs-stack/stacks"
)

// Args of the gateway component.
type Args struct {
	kube.Stack
	// Image of unprivileged nginx.
	Image string
	// Workload sizes the gateway (its Storage is unused).
	Workload stacks.Workload
	// Resolver is the cluster DNS Service nginx resolves upstream names through.
	Resolver string
	// AuthEnabled requires basic auth (a generated password) and pins X-Scope-OrgID to Tenant.
	AuthEnabled bool
	Tenant      string
	// Tenants get a gateway user each (named like the tenant, a generated password in a Secret
	// of its own) that writes and reads only that tenant; with any, an admin user reads every
	// tenant and cannot push. Needs AuthEnabled.
	Tenants []string
	// Routes and RingPages come from the Loki component (loki.Loki.Routes / RingPages).
	Routes    map[string]string
	RingPages map[string]string
	// Exporter is monitoring's nginx exporter beside nginx; nil runs none.
	Exporter *kube.Sidecar
}

// Gateway is the component.
type Gateway struct {
	pulumi.ResourceState

	// URL is the in-cluster base URL of the gateway Service (port 80).
	URL string
	// PushURL and QueryURL are the Loki push and range-query endpoints behind the gateway.
	PushURL  string
	QueryURL string
	// ConfigText is nginx's rendered config.
	ConfigText string
	// AuthEnabled mirrors loki.authEnabled: when false there are no credentials.
	AuthEnabled bool
	// CredentialsSecret names the Secret with keys username, password and .htpasswd.
	CredentialsSecret pulumi.StringOutput
	// Password is the generated basic-auth password (a secret output).
	Password pulumi.StringOutput
	// Tenants are each tenant's credentials; Admin the admin user's (nil without tenants).
	Tenants map[string]Credentials
	Admin   *Credentials
}

// Credentials of one gateway user: its Secret (keys username and password) and its password
// (a secret output).
type Credentials struct {
	// Username, and Tenant: the X-Scope-OrgID nginx sends for it ("a|b|..." for the admin).
	Username, Tenant string
	Secret           pulumi.StringOutput
	Password         pulumi.StringOutput
}

const uid = 101 // the nginx-unprivileged image's user

// httpPort is nginx's one port; its Service listens on 80.
var httpPort = kube.Port{Name: "http", Number: nginx.ListenPort, ServiceNumber: 80}

// Monitoring's nginx exporter beside nginx: it reads stub_status on the pod's loopback and
// serves /metrics on ExporterPort.
const (
	statusListen = "127.0.0.1:8081"
	ExporterPort = 9113
)

// statusAddress is where nginx serves stub_status: only with the exporter.
func statusAddress(args *Args) string {
	if args.Exporter == nil {
		return ""
	}
	return statusListen
}

// gatewayUsers are the gateway's users with tenants: the default user writes and reads the default
// tenant, each tenant's user only its tenant, and the admin reads all of them ("a|b|...",
// Loki's multi-tenant query) and cannot push. Without tenants, none: nginx's one user.
func gatewayUsers(defaultTenant string, tenants []string) []nginx.User {
	if len(tenants) == 0 {
		return nil
	}
	users := []nginx.User{{Name: nginx.Username, OrgID: defaultTenant, Push: true}}
	for _, t := range tenants {
		users = append(users, nginx.User{Name: t, OrgID: t, Push: true})
	}
	return append(users, nginx.User{Name: stacks.AdminUser, OrgID: strings.Join(append([]string{defaultTenant}, tenants...), "|")})
}

func toAny(outputs []pulumi.StringOutput) []any {
	out := make([]any, len(outputs))
	for i, o := range outputs {
		out[i] = o
	}
	return out
}

// New declares the gateway.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Gateway, error) {
	c := &Gateway{AuthEnabled: args.AuthEnabled}
	if err := ctx.RegisterComponentResource("obs-stack:gateway:Gateway", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering gateway component: %w", err)
	}
	parent := pulumi.Parent(c)
	labels := args.Labels("loki-gateway", "gateway", args.Image)
	const objectName = "loki-gateway"

	// The config is known at preview: upstream URLs are built from Services with fixed names.
	text, err := nginx.Build(nginx.Input{
		Resolver: args.Resolver, Routes: args.Routes, RingPages: args.RingPages,
		AuthEnabled: args.AuthEnabled, Tenant: args.Tenant, Users: gatewayUsers(args.Tenant, args.Tenants), StatusListen: statusAddress(args),
	})
	if err != nil {
		return nil, err
	}
	c.ConfigText = text

	cm, err := corev1.NewConfigMap(ctx, name+"-config", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{Namespace: args.Namespace, Labels: labels.All, Annotations: kube.Owned()},
		Data:     pulumi.StringMap{nginx.ConfigFile: pulumi.String(c.ConfigText)},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating gateway ConfigMap: %w", err)
	}

	volumes := []kube.Volume{kube.ConfigVolume(cm.Metadata.Name(), nginx.ConfigDir), kube.Tmp()}
	if args.AuthEnabled {
		// No keepers: each password is generated once and stays; its bcrypt hash is computed by
		// the provider at creation, so the htpasswd lines are the same on every preview.
		newPassword := func(resource string) (*random.RandomPassword, error) {
			pw, err := random.NewRandomPassword(ctx, resource, &random.RandomPasswordArgs{
				Length: pulumi.Int(32), Special: pulumi.Bool(false),
			}, parent, pulumi.AdditionalSecretOutputs([]string{"result", "bcryptHash"}))
			if err != nil {
				return nil, fmt.Errorf("creating gateway password %s: %w", resource, err)
			}
			return pw, nil
		}
		password, err := newPassword(name + "-password")
		if err != nil {
			return nil, err
		}
		c.Password = password.Result
		users := []pulumi.StringOutput{pulumi.Sprintf("%s:%s\n", nginx.Username, password.BcryptHash)}
		// A tenant's user and Secret are named after it, so adding a tenant creates only its own
		// password and Secret (the htpasswd and nginx's user map change in place).
		userSecret := func(resource, objectName string, user nginx.User, pw *random.RandomPassword) (Credentials, error) {
			username := user.Name
			secret, err := corev1.NewSecret(ctx, resource, &corev1.SecretArgs{
				Metadata:   kube.Meta(objectName, args.Namespace, labels.All),
				Type:       pulumi.String("Opaque"),
				StringData: pulumi.StringMap{"username": pulumi.String(username), "password": pw.Result},
			}, parent)
			if err != nil {
				return Credentials{}, fmt.Errorf("creating gateway Secret %s: %w", objectName, err)
			}
			users = append(users, pulumi.Sprintf("%s:%s\n", username, pw.BcryptHash))
			return Credentials{Username: username, Tenant: user.OrgID, Secret: secret.Metadata.Name().Elem(), Password: pw.Result}, nil
		}
		if us := gatewayUsers(args.Tenant, args.Tenants); len(us) > 0 {
			c.Tenants = map[string]Credentials{}
			for _, u := range us[1 : len(us)-1] { // the default user's is the auth Secret below
				pw, err := newPassword(name + "-password-" + u.Name)
				if err != nil {
					return nil, err
				}
				if c.Tenants[u.Name], err = userSecret(name+"-tenant-"+u.Name, stacks.TenantSecretName(u.Name), u, pw); err != nil {
					return nil, err
				}
			}
			pw, err := newPassword(name + "-password-admin")
			if err != nil {
				return nil, err
			}
			admin, err := userSecret(name+"-admin", objectName+"-admin", us[len(us)-1], pw)
			if err != nil {
				return nil, err
			}
			c.Admin = &admin
		}
		htpasswd := pulumi.All(toAny(users)...).ApplyT(func(lines []any) string {
			var b strings.Builder
			for _, l := range lines {
				b.WriteString(l.(string))
			}
			return b.String()
		}).(pulumi.StringOutput)
		secret, err := corev1.NewSecret(ctx, name+"-auth", &corev1.SecretArgs{
			Metadata: kube.Meta(objectName+"-auth", args.Namespace, labels.All),
			Type:     pulumi.String("Opaque"),
			StringData: pulumi.StringMap{
				"username":         pulumi.String(nginx.Username),
				"password":         password.Result,
				nginx.HtpasswdFile: htpasswd,
			},
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("creating gateway auth Secret: %w", err)
		}
		c.CredentialsSecret = secret.Metadata.Name().Elem()
		volumes = append(volumes, kube.Volume{
			Mount: corev1.VolumeMountArgs{Name: pulumi.String("auth"), MountPath: pulumi.String(nginx.SecretsDir), ReadOnly: pulumi.Bool(true)},
			Source: &corev1.VolumeArgs{Name: pulumi.String("auth"), Secret: &corev1.SecretVolumeSourceArgs{
				SecretName: secret.Metadata.Name().Elem(),
				Items:      corev1.KeyToPathArray{corev1.KeyToPathArgs{Key: pulumi.String(nginx.HtpasswdFile), Path: pulumi.String(nginx.HtpasswdFile)}},
			}},
		})
	} else {
		c.CredentialsSecret = pulumi.String("").ToStringOutput()
		c.Password = pulumi.String("").ToStringOutput()
	}

	w := args.Workload
	containers := []corev1.ContainerArgs{{
		Name:    pulumi.String("nginx"),
		Image:   pulumi.String(args.Image),
		Command: pulumi.ToStringArray([]string{"nginx"}),
		Args:    pulumi.ToStringArray([]string{"-c", nginx.ConfigDir + "/" + nginx.ConfigFile, "-g", "daemon off;"}),
		Ports:   kube.ContainerPorts(httpPort),
		ReadinessProbe: &corev1.ProbeArgs{
			HttpGet: &corev1.HTTPGetActionArgs{Path: pulumi.String("/"), Port: pulumi.String(httpPort.Name)},
		},
		Resources: kube.Resources(w.Resources),
	}}
	if args.Exporter != nil {
		containers = append(containers, args.Exporter.Container(ExporterPort,
			"--nginx.scrape-uri=http://"+statusListen+nginx.StatusPath, fmt.Sprintf("--web.listen-address=:%d", ExporterPort)))
	}
	pod := kube.Pod{
		Labels: labels, UID: uid, ConfigHash: pulumi.String(kube.Hash(c.ConfigText)), Volumes: volumes,
		Containers: containers,
	}
	args.Spread(&pod.Spec, w.AntiAffinity, labels.Selector, w.Peak(), "")
	err = kube.NewDeployment(ctx, objectName, args.Namespace, pod, w, parent)
	if err != nil {
		return nil, fmt.Errorf("creating the gateway: %w", err)
	}
	_, err = corev1.NewService(ctx, objectName, &corev1.ServiceArgs{
		Metadata: kube.Meta(objectName, args.Namespace, labels.All),
		Spec: &corev1.ServiceSpecArgs{
			Selector: labels.Selector,
			Ports:    kube.ServicePorts(httpPort),
		},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating gateway Service: %w", err)
	}

	// Plain: the Service's name is fixed, so its URL is known at preview.
	c.URL = "http://" + args.ServiceFQDN(objectName)
	c.PushURL = c.URL + "/loki/api/v1/push"
	c.QueryURL = c.URL + "/loki/api/v1/query_range"
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"url": pulumi.String(c.URL), "pushUrl": pulumi.String(c.PushURL), "queryUrl": pulumi.String(c.QueryURL), "authEnabled": pulumi.Bool(c.AuthEnabled),
	}); err != nil {
		return nil, fmt.Errorf("registering gateway outputs: %w", err)
	}
	return c, nil
}
