// Package verify proves a deployed stack's pipeline end to end on a real cluster, the way the
// original incident was debugged by hand: refuse a simulated (kwok) plane, reach the gateway
// through a port-forward, push a line and read it back with the stack's tenant and
// credentials, find a pod line Alloy collected, produce to Kafka and find that line in Loki,
// and check that Grafana's datasource points at the gateway that answered. Every step prints
// what it checked and how long it took. cmd/deploy runs it as -action verify.
package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"obs-stack/components/grafana/provisioning"
)

// ErrSimulated is returned when the cluster's nodes are kwok's.
var ErrSimulated = errors.New("the cluster's pods are simulated by kwok: verify needs a real cluster")

// Options of a run. Zero values take the defaults in brackets.
type Options struct {
	// Out receives one line per step.
	Out io.Writer
	// Deadline of each wait for a line to show up in Loki [2m].
	Deadline time.Duration
	// Poll is the pause between two queries of a wait [2s].
	Poll time.Duration
	// PodLogsLookback is how far back a pod line may be [10m].
	PodLogsLookback time.Duration
	// ID marks the lines this run writes [random].
	ID string
}

// PushJob is the job label of the line verify pushes itself.
const PushJob = "obs-stack-verify"

// KafkaProducer is the console producer of the apache/kafka image.
const KafkaProducer = "/opt/kafka/bin/kafka-console-producer.sh"

// kafkaContainer is the broker container's name (components/kafka).
const kafkaContainer = "kafka"

// ProducerCommand is the argv run in a broker to write stdin's lines to topic. The broker's
// KAFKA_HEAP_OPTS (half the container's memory, committed at start) would be inherited by the
// producer's JVM and could push the container over its limit: the producer gets a small heap.
func ProducerCommand(bootstrap, topic string) []string {
	return []string{"env", "KAFKA_HEAP_OPTS=-Xmx128m", KafkaProducer, "--bootstrap-server", bootstrap, "--topic", topic}
}

type run struct {
	o Options
}

// step prints one line: ✓ or ✗, what was checked, and the time it took.
func (r run) step(start time.Time, what string, err error) error {
	took := fmt.Sprintf("(%.1f s)", time.Since(start).Seconds())
	if err != nil {
		fmt.Fprintf(r.o.Out, "✗ %s: %v %s\n", what, err, took)
		return fmt.Errorf("%s: %w", what, err)
	}
	fmt.Fprintf(r.o.Out, "✓ %s %s\n", what, took)
	return nil
}

func (r run) skip(what, why string) {
	fmt.Fprintf(r.o.Out, "- %s: skipped, %s\n", what, why)
}

// CheckNodes refuses a cluster whose nodes kwok simulates: pods there never run.
func CheckNodes(ctx context.Context, c Cluster, out io.Writer) error {
	r := run{o: Options{Out: out}}
	start := time.Now()
	list, err := c.Nodes(ctx)
	if err != nil {
		return r.step(start, "reading the cluster's nodes", err)
	}
	simulated, total, err := SimulatedNodes(list)
	if err != nil {
		return r.step(start, "reading the cluster's nodes", err)
	}
	switch {
	case total == 0:
		return r.step(start, "the cluster has nodes to run pods", errors.New("it has none"))
	case len(simulated) > 0:
		names := strings.Join(simulated, ", ")
		fmt.Fprintf(out, "✗ %d of %d node(s) are simulated by kwok (%s) (%.1f s)\n", len(simulated), total, names, time.Since(start).Seconds())
		fmt.Fprintln(out, "  Pods there turn Running and Ready, but no container runs: no gateway, Loki, Alloy or Kafka process exists to answer.")
		fmt.Fprintln(out, "  This is the local control plane of toolchain/ (./scripts/up.sh starts it when no cluster answers): it proves objects,")
		fmt.Fprintln(out, "  scheduling and readiness, not the pipeline. verify needs a real cluster: put kind, k3d or a cloud cluster in the kube")
		fmt.Fprintln(out, "  context, run ./scripts/up.sh, then ACTION=verify ./scripts/up.sh (.github/workflows/e2e.yml does this on kind).")
		return fmt.Errorf("%w (simulated nodes: %s)", ErrSimulated, names)
	}
	return r.step(start, fmt.Sprintf("the cluster's %d node(s) are real, none simulated by kwok", total), nil)
}

// Run checks the pipeline of target: the nodes first, then the target is read (load) and
// every step after the gateway's runs even when an earlier one failed, so one run reports
// every broken link. It returns every failure joined.
func Run(ctx context.Context, c Cluster, load func(context.Context) (Target, error), o Options) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	o.Deadline = cmpOr(o.Deadline, 2*time.Minute)
	o.Poll = cmpOr(o.Poll, 2*time.Second)
	o.PodLogsLookback = cmpOr(o.PodLogsLookback, 10*time.Minute)
	if o.ID == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b) // crypto/rand never fails on Linux
		o.ID = hex.EncodeToString(b)
	}
	r := run{o: o}

	// 1. A simulated plane cannot run the pipeline: say so before anything else.
	if err := CheckNodes(ctx, c, o.Out); err != nil {
		return err
	}
	start := time.Now()
	t, err := load(ctx)
	if err := r.step(start, "reading the stack's outputs", err); err != nil {
		return err
	}

	// 2. The gateway, through the API server.
	start = time.Now()
	base, stop, err := c.PortForward(ctx, t.Gateway.Namespace, t.Gateway.Name, t.Gateway.Port)
	if err == nil {
		defer stop()
	}
	if err := r.step(start, fmt.Sprintf("port-forward to %s (the gatewayUrl %s)", t.Gateway, t.GatewayURL), err); err != nil {
		return err
	}
	return r.pipeline(ctx, c, t, base)
}

// pipeline runs the steps that go through the gateway at base, then the datasource check.
func (r run) pipeline(ctx context.Context, c Cluster, t Target, base string) error {
	o := r.o
	client := &Client{BaseURL: base, Tenant: t.Tenant, Username: t.Username, Password: t.Password}
	start := time.Now()
	if err := r.step(start, fmt.Sprintf("gateway answers %s through the port-forward (%s)", HealthPath, base), client.Health(ctx)); err != nil {
		return err
	}
	var errs []error
	who := fmt.Sprintf("tenant %s, no auth", t.Tenant)
	if t.Password != "" {
		who = fmt.Sprintf("tenant %s, user %s", t.Tenant, t.Username)
	}

	// 3. A line of our own, pushed and read back.
	line := fmt.Sprintf("obs-stack verify push %s", o.ID)
	start = time.Now()
	err := client.Push(ctx, map[string]string{"job": PushJob}, start, line)
	if Unauthorized(err) {
		err = fmt.Errorf("the gateway refused user %s with the stack's gatewayPassword (401): the password in the stack's outputs is not the one in the gateway's htpasswd (Secret %s-auth); run up again so both come from one state: %w", t.Username, t.Gateway.Name, err)
	}
	if err := r.step(start, fmt.Sprintf("push of %q to %s (%s)", line, PushPath, who), err); err != nil {
		errs = append(errs, err)
	} else {
		start = time.Now()
		query := fmt.Sprintf("{job=%q} |= %q", PushJob, o.ID)
		_, err := client.Wait(ctx, query, o.ID, start.Add(-5*time.Minute), o.Deadline, o.Poll)
		if err := r.step(start, fmt.Sprintf("query_range %s reads the pushed line back", query), err); err != nil {
			errs = append(errs, err)
		}
	}

	// 3b. Every tenant: its line lands in it, its own user reads it, the default tenant's does
	// not, and the admin's does.
	for _, login := range t.Tenants {
		if err := r.tenant(ctx, base, client, login, t.Admin); err != nil {
			errs = append(errs, err)
		}
	}

	// 4. A line Alloy collected from a pod of the stack's namespace.
	if !t.PodLogs {
		r.skip("pod logs", "alloy.podLogs is off")
	} else {
		start = time.Now()
		query := fmt.Sprintf("{namespace=%q}", t.Namespace)
		s, err := client.Wait(ctx, query, "", start.Add(-o.PodLogsLookback), o.Deadline, o.Poll)
		what := fmt.Sprintf("query_range %s finds a pod line Alloy collected in the last %s", query, o.PodLogsLookback)
		if err == nil {
			what += fmt.Sprintf(" (pod %s, container %s)", s.Labels["pod"], s.Labels["container"])
		}
		if err := r.step(start, what, err); err != nil {
			errs = append(errs, err)
		}
	}

	// 5. A line produced to Kafka, consumed by Alloy, found in Loki.
	if len(t.KafkaTopics) == 0 {
		r.skip("Kafka", "Alloy consumes no topic (kafka.enabled or alloy.consumeKafka is off)")
	} else if err := r.kafka(ctx, c, client, t); err != nil {
		errs = append(errs, err)
	}

	// 6. Grafana reads Loki through the gateway that answered above.
	start = time.Now()
	what := fmt.Sprintf("Grafana datasource %s in Secret %s/%s points at %s", t.Datasource.UID, t.Datasource.SecretNamespace, t.Datasource.SecretName, t.Gateway)
	if err := r.step(start, what, checkDatasource(ctx, c, t)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tenant pushes a line as the tenant's user, reads it back as that user, checks that the
// default tenant's user does not see it, and that the admin does.
func (r run) tenant(ctx context.Context, base string, other *Client, login Login, admin *Login) error {
	as := func(l Login) *Client {
		return &Client{BaseURL: base, Tenant: l.Tenant, Username: l.Username, Password: l.Password}
	}
	id := r.o.ID + "-" + login.Tenant
	line := fmt.Sprintf("obs-stack verify tenant %s", id)
	query := fmt.Sprintf("{job=%q} |= %q", PushJob, id)
	start := time.Now()
	if err := r.step(start, fmt.Sprintf("push of %q as tenant %s's user %s", line, login.Tenant, login.Username),
		as(login).Push(ctx, map[string]string{"job": PushJob}, start, line)); err != nil {
		return err
	}
	start = time.Now()
	_, err := as(login).Wait(ctx, query, id, start.Add(-5*time.Minute), r.o.Deadline, r.o.Poll)
	if err := r.step(start, fmt.Sprintf("tenant %s reads its line back", login.Tenant), err); err != nil {
		return err
	}
	var errs []error
	start = time.Now()
	found, err := other.QueryRange(ctx, query, start.Add(-5*time.Minute), start.Add(time.Minute), 10)
	if err == nil && len(found) > 0 {
		err = fmt.Errorf("tenant %s's line is visible to tenant %s: the gateway does not keep tenants apart", login.Tenant, other.Tenant)
	}
	if err := r.step(start, fmt.Sprintf("tenant %s does not see it", other.Tenant), err); err != nil {
		errs = append(errs, err)
	}
	if admin != nil {
		start = time.Now()
		_, err := as(*admin).Wait(ctx, query, id, start.Add(-5*time.Minute), r.o.Deadline, r.o.Poll)
		if err := r.step(start, fmt.Sprintf("the admin %s reads it across %s", admin.Username, admin.Tenant), err); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r run) kafka(ctx context.Context, c Cluster, client *Client, t Target) error {
	topic := t.KafkaTopics[0]
	line := fmt.Sprintf("obs-stack verify kafka %s", r.o.ID)
	start := time.Now()
	_, err := c.Exec(ctx, t.Namespace, t.KafkaPod, kafkaContainer, line+"\n", ProducerCommand(t.KafkaBootstrap, topic)...)
	if err := r.step(start, fmt.Sprintf("produce %q to topic %s (console producer in pod %s)", line, topic, t.KafkaPod), err); err != nil {
		return err
	}
	start = time.Now()
	// loki.source.kafka's relabel rules keep the topic as a label (components/alloy).
	query := fmt.Sprintf("{topic=%q} |= %q", topic, r.o.ID)
	_, err = client.Wait(ctx, query, r.o.ID, start.Add(-5*time.Minute), r.o.Deadline, r.o.Poll)
	return r.step(start, fmt.Sprintf("query_range %s finds the line Alloy consumed from Kafka", query), err)
}

// checkDatasource reads the provisioning Secret and checks the Loki datasource's URL, user,
// password and tenant against the stack's, printing none of them but the URL.
func checkDatasource(ctx context.Context, c Cluster, t Target) error {
	data, err := c.SecretData(ctx, t.Datasource.SecretNamespace, t.Datasource.SecretName)
	if err != nil {
		return err
	}
	raw, ok := data[provisioning.File]
	if !ok {
		return fmt.Errorf("the Secret has no key %s", provisioning.File)
	}
	var p provisioning.Provisioning
	if err := yaml.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("reading %s: %w", provisioning.File, err)
	}
	i := slices.IndexFunc(p.Datasources, func(d provisioning.Datasource) bool { return d.UID == t.Datasource.UID })
	if i < 0 {
		return fmt.Errorf("%s has no datasource with uid %s", provisioning.File, t.Datasource.UID)
	}
	ds := p.Datasources[i]
	var problems []error
	if ds.Type != "loki" {
		problems = append(problems, fmt.Errorf("its type is %q, want loki", ds.Type))
	}
	if svc, err := ServiceOf(ds.URL); err != nil || svc != t.Gateway {
		problems = append(problems, fmt.Errorf("its url %s is not the gateway's %s", ds.URL, t.GatewayURL))
	}
	if t.Password != "" {
		if !ds.BasicAuth || ds.BasicAuthUser != t.Username {
			problems = append(problems, fmt.Errorf("it does not use basic auth as %s", t.Username))
		}
		if ds.SecureJSONData["basicAuthPassword"] != t.Password {
			problems = append(problems, errors.New("its basic auth password is not the stack's gatewayPassword"))
		}
		if ds.JSONData["httpHeaderName1"] != "X-Scope-OrgID" || ds.SecureJSONData["httpHeaderValue1"] != t.Tenant {
			problems = append(problems, fmt.Errorf("it does not send X-Scope-OrgID %s", t.Tenant))
		}
	}
	return errors.Join(problems...)
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
