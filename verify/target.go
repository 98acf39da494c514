package verify

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"obs-stack/components/gateway/nginx"
)

// Target is what verify checks, read from the stack's outputs.
type Target struct {
	// Stack name, for messages.
	Stack string
	// Namespace the stack deploys to (output namespace).
	Namespace string
	// GatewayURL is the in-cluster URL Alloy pushes to and Grafana reads from (output gatewayUrl).
	GatewayURL string
	// Gateway is the Service GatewayURL names: port-forwards go to it.
	Gateway Service
	// Tenant is sent as X-Scope-OrgID (output tenant).
	Tenant string
	// Username and Password of the gateway's basic auth; Password is empty with auth off
	// (secret output gatewayPassword).
	Username, Password string
	// PodLogs: Alloy collects the pods' logs (output alloy.podLogs).
	PodLogs bool
	// KafkaTopics Alloy consumes (output alloy.kafkaTopics); empty without Kafka or with
	// alloy.consumeKafka off.
	KafkaTopics []string
	// KafkaBootstrap is the brokers' address list (output kafkaBootstrapServers).
	KafkaBootstrap string
	// KafkaPod is the first broker's pod, named in KafkaBootstrap (kafka-0.kafka-headless...).
	KafkaPod string
	// Datasource is Grafana's Loki datasource (output grafanaDatasource).
	Datasource Datasource
	// Tenants are the loki.tenants' gateway users (outputs tenants and tenantPasswords), by
	// name; Admin reads all of them (outputs adminCredentials and adminPassword). None
	// without tenants.
	Tenants []Login
	Admin   *Login
}

// Login is one gateway user and the tenant (or "a|b|...") it reads.
type Login struct {
	Username, Password, Tenant string
}

// Service is a Kubernetes Service port.
type Service struct {
	Namespace, Name string
	Port            int
}

func (s Service) String() string { return fmt.Sprintf("svc/%s:%d in %s", s.Name, s.Port, s.Namespace) }

// Datasource locates the Grafana provisioning Secret and the Loki datasource in it.
type Datasource struct {
	UID, SecretNamespace, SecretName string
}

// ServiceOf reads the Service from an in-cluster URL http://<name>.<namespace>.svc.<domain>[:port].
func ServiceOf(rawURL string) (Service, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Service{}, fmt.Errorf("gateway URL %q: %w", rawURL, err)
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) < 3 || parts[2] != "svc" {
		return Service{}, fmt.Errorf("gateway URL %q does not name a Service as <name>.<namespace>.svc.<domain>", rawURL)
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return Service{}, fmt.Errorf("gateway URL %q: port: %w", rawURL, err)
		}
	}
	return Service{Namespace: parts[1], Name: parts[0], Port: port}, nil
}

// FromOutputs reads the target from stack outputs as the Automation API returns them
// (auto.OutputValue.Value, secrets in plain text). Missing outputs are reported together.
func FromOutputs(stack string, outputs map[string]any) (Target, error) {
	var errs []error
	str := func(key string) string {
		v, ok := outputs[key].(string)
		if !ok {
			errs = append(errs, fmt.Errorf("stack output %s is missing or not a string (run up first)", key))
		}
		return v
	}
	t := Target{Stack: stack, Namespace: str("namespace"), GatewayURL: str("gatewayUrl"), Tenant: str("tenant"), Username: nginx.Username}
	if p, ok := outputs["gatewayPassword"].(string); ok {
		t.Password = p
	}
	if alloy, ok := outputs["alloy"].(map[string]any); ok {
		t.PodLogs, _ = alloy["podLogs"].(bool)
		topics, _ := alloy["kafkaTopics"].([]any)
		for _, topic := range topics {
			if s, ok := topic.(string); ok {
				t.KafkaTopics = append(t.KafkaTopics, s)
			}
		}
	} else {
		errs = append(errs, errors.New("stack output alloy is missing (run up with this version of the program first)"))
	}
	if len(t.KafkaTopics) > 0 {
		t.KafkaBootstrap = str("kafkaBootstrapServers")
		first, _, _ := strings.Cut(t.KafkaBootstrap, ",")
		t.KafkaPod, _, _ = strings.Cut(first, ".")
		if t.KafkaPod == "" {
			errs = append(errs, fmt.Errorf("stack output kafkaBootstrapServers %q names no broker pod", t.KafkaBootstrap))
		}
	}
	if ds, ok := outputs["grafanaDatasource"].(map[string]any); ok {
		t.Datasource.UID, _ = ds["uid"].(string)
		t.Datasource.SecretName, _ = ds["secretName"].(string)
		t.Datasource.SecretNamespace, _ = ds["secretNamespace"].(string)
	}
	if t.Datasource.UID == "" || t.Datasource.SecretName == "" || t.Datasource.SecretNamespace == "" {
		errs = append(errs, errors.New("stack output grafanaDatasource lacks uid, secretName or secretNamespace (run up with this version of the program first)"))
	}
	if tenants, ok := outputs["tenants"].(map[string]any); ok {
		passwords, _ := outputs["tenantPasswords"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(tenants)) {
			user, _ := tenants[name].(map[string]any)["username"].(string)
			pw, _ := passwords[name].(string)
			if user == "" || pw == "" {
				errs = append(errs, fmt.Errorf("stack outputs tenants/tenantPasswords lack tenant %s's username or password", name))
			}
			t.Tenants = append(t.Tenants, Login{Username: user, Password: pw, Tenant: name})
		}
		admin, _ := outputs["adminCredentials"].(map[string]any)
		user, _ := admin["username"].(string)
		orgs, _ := admin["tenants"].(string)
		pw, _ := outputs["adminPassword"].(string)
		if user == "" || orgs == "" || pw == "" {
			errs = append(errs, errors.New("stack outputs adminCredentials/adminPassword are missing or incomplete"))
		}
		t.Admin = &Login{Username: user, Password: pw, Tenant: orgs}
	}
	if t.GatewayURL != "" {
		svc, err := ServiceOf(t.GatewayURL)
		if err != nil {
			errs = append(errs, err)
		}
		t.Gateway = svc
	}
	return t, errors.Join(errs...)
}
