//go:build integration

// Package integration runs the program through the real Pulumi engine and the real
// pulumi-kubernetes provider against a local control plane (toolchain/), as users do.
// Run it with ./scripts/test.sh, which builds the toolchain first.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"obs-stack/components/monitoring"
	"obs-stack/deploy"
	"obs-stack/internal/operatorcrds"
	"obs-stack/program"
)

var repoRoot, _ = filepath.Abs("..")

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	bin := os.Getenv("OBS_STACK_TOOLCHAIN_BIN")
	if bin == "" {
		fmt.Fprintln(os.Stderr, "integration: OBS_STACK_TOOLCHAIN_BIN is not set. Run ./scripts/test.sh, which builds the "+
			"toolchain (bash toolchain/build.sh prints the folder to set) and starts the local control plane.")
		return 1
	}
	for _, b := range []string{"pulumi", "pulumi-resource-kubernetes", "pulumi-resource-random", "kubectl", "kube-apiserver", "kwok"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			fmt.Fprintf(os.Stderr, "integration: %s missing from %s; build it with: bash toolchain/build.sh\n", b, bin)
			return 1
		}
	}
	os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	// The cluster lives in OBS_STACK_CLUSTER_STATE when scripts/test.sh provides it (its trap
	// stops it even if this process dies), else in a temporary folder of ours.
	state := os.Getenv("OBS_STACK_CLUSTER_STATE")
	if state == "" {
		dir, err := os.MkdirTemp("", "obs-stack-cluster-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		state = dir
	}
	up := exec.Command("bash", filepath.Join(repoRoot, "toolchain/cluster-up.sh"), state)
	up.Env = append(os.Environ(), "OBS_STACK_TOOLCHAIN_BIN="+bin, "NODE_CPU=32", "NODE_MEMORY=64Gi")
	up.Stderr = os.Stderr
	out, err := up.Output()
	defer func() {
		down := exec.Command("bash", filepath.Join(repoRoot, "toolchain/cluster-down.sh"), state)
		down.Dir = repoRoot // the tests' working folders are gone by now
		down.Stdout, down.Stderr = os.Stderr, os.Stderr
		if err := down.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "integration: stopping the cluster:", err)
		}
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: starting the local control plane:", err)
		return 1
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	os.Setenv("KUBECONFIG", lines[len(lines)-1])
	// Every engine and plugin this suite starts inherits the marker, so that any left running
	// (the engine killed mid-up leaves its provider plugins behind) can be found by PID.
	os.Setenv(markerEnv, marker)
	code := m.Run()
	if left := stopMarked(10 * time.Second); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "integration: FAIL: Pulumi processes outlived the suite (stopped now): %s\n", strings.Join(left, ", "))
		return 1
	}
	fmt.Fprintln(os.Stderr, "integration: no Pulumi engine or plugin process of this suite is left running")
	return code
}

// markerEnv=marker is in the environment of every process the suite starts after the cluster.
const markerEnv = "OBS_STACK_INTEGRATION_RUN"

var marker = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())

// marked lists the running pulumi / pulumi-resource-* processes with the suite's marker, by
// PID: their executable and environment come from /proc.
func marked() map[int]string {
	found := map[int]string{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !bytes.Contains(append([]byte{0}, env...), []byte("\x00"+markerEnv+"="+marker+"\x00")) {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", d.Name(), "exe"))
		if err == nil && strings.HasPrefix(filepath.Base(exe), "pulumi") {
			found[pid] = filepath.Base(exe)
		}
	}
	return found
}

// stopMarked waits up to grace for the suite's Pulumi processes to exit by themselves, then
// stops the rest by PID (SIGTERM, then SIGKILL) and returns what it had to stop.
func stopMarked(grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for len(marked()) > 0 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	var stopped []string
	for pid, exe := range marked() {
		stopped = append(stopped, fmt.Sprintf("%s (pid %d)", exe, pid))
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 40 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(250 * time.Millisecond)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	sort.Strings(stopped)
	return stopped
}

// project copies the Pulumi project files into a fresh folder, so that stack config changes
// and state never touch the checkout.
func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := deploy.CopyProject(repoRoot, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func open(t *testing.T, dir, stack string, env map[string]string) auto.Stack {
	t.Helper()
	s, err := deploy.Open(context.Background(), deploy.Options{ProjectDir: dir, Stack: stack, Env: env, Program: program.RunIn})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func setPath(t *testing.T, s auto.Stack, key, value string) {
	t.Helper()
	if err := s.SetConfigWithOptions(context.Background(), key, auto.ConfigValue{Value: value}, &auto.ConfigOptions{Path: true}); err != nil {
		t.Fatalf("pulumi config set --path %s %s: %v", key, value, err)
	}
}

func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("kubectl", args...).CombinedOutput()
	return string(out), err
}

// futurePeriod adds to keys a schema period on store, appended as schemas[1] with the
// bracketed keys config set --path writes, from the day after tomorrow (still in the future
// if the day turns mid-test).
func futurePeriod(store string, keys map[string]string) map[string]string {
	from := time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
	for k, v := range map[string]string{"from": from, "store": "tsdb", "objectStore": store, "schema": "v13", "indexPrefix": "index_", "indexPeriod": "24h"} {
		keys["obs-stack:loki.schemas[1]."+k] = v
	}
	return keys
}

// applyYAML applies a manifest with kubectl apply -f -.
func applyYAML(t *testing.T, manifest string) bool {
	t.Helper()
	cmd := exec.Command("kubectl", "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("kubectl apply: %v\n%s", err, out)
		return false
	}
	return true
}

func expectNoChanges(t *testing.T, s auto.Stack) {
	t.Helper()
	start := time.Now()
	res, err := s.Preview(context.Background(), optpreview.ExpectNoChanges())
	if err != nil {
		t.Fatalf("preview --expect-no-changes of %s: %v", s.Name(), err)
	}
	if c := deploy.Changes(res.ChangeSummary); len(c) > 0 {
		t.Fatalf("perpetual diff in %s: %v", s.Name(), c)
	}
	t.Logf("measured: preview of %s (no changes) took %s", s.Name(), time.Since(start).Round(time.Millisecond))
}

func TestDeploy(t *testing.T) {
	ctx := context.Background()
	dir := project(t)

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"a bad config fails preview and creates nothing", func(t *testing.T) {
			s := open(t, dir, "bad", nil)
			setPath(t, s, "obs-stack:preset", "dev")
			setPath(t, s, "obs-stack:loki.replicationFactor", "3")
			_, err := s.Preview(ctx)
			if err == nil || !strings.Contains(err.Error(), "obs-stack:loki.replicationFactor = 3") {
				t.Fatalf("preview should fail naming the key, got %v", err)
			}
			if out, err := kubectl(t, "get", "namespace", "observability-dev"); err == nil {
				t.Fatalf("the failed preview left a namespace behind: %s", out)
			}
			if err := s.Workspace().RemoveStack(ctx, "bad"); err != nil {
				t.Fatal(err)
			}
		}},
		{"dev comes up Ready under Pulumi's waits (pods simulated by kwok)", func(t *testing.T) {
			s := open(t, dir, "dev", nil)
			setPath(t, s, "obs-stack:cluster.useLiveNodes", "true") // size against the simulated node
			start := time.Now()
			res, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""}))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("measured: up of dev to Ready took %s", time.Since(start).Round(time.Millisecond))
			if mode := res.Outputs["lokiMode"].Value; mode != "SingleBinary" {
				t.Errorf("lokiMode output = %v", mode)
			}
			out, err := kubectl(t, "-n", "observability-dev", "get", "statefulset", "loki-single-binary", "-o", "jsonpath={.status.readyReplicas}")
			if err != nil || out != "1" {
				t.Fatalf("loki-single-binary ready replicas = %q (%v)", out, err)
			}
			t.Log("loki-single-binary has 1 Ready replica: a pod SIMULATED by kwok (scheduled and marked Ready; no container ran)")
			expectNoChanges(t, s)
		}},
		{"a one-key override changes only what reads it", func(t *testing.T) {
			s := open(t, dir, "dev", nil)
			setPath(t, s, "obs-stack:loki.limits.retentionPeriod", "72h")
			res, err := s.Preview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// The Loki ConfigMap is updated in place (enableConfigMapMutable) and the one
			// StatefulSet that mounts it rolls (its template carries the config's hash).
			want := map[apitype.OpType]int{apitype.OpUpdate: 2}
			if got := deploy.Changes(res.ChangeSummary); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("retention change: %v, want %v", got, want)
			}
			if _, err := s.Up(ctx); err != nil {
				t.Fatal(err)
			}
			expectNoChanges(t, s)
		}},
		{"a change that would lose data is refused at preview", func(t *testing.T) {
			s := open(t, dir, "dev", nil)
			setPath(t, s, "obs-stack:loki.singleBinary.storage", "20Gi")
			_, err := s.Preview(ctx)
			if err == nil || !strings.Contains(err.Error(), "obs-stack:loki.singleBinary.storage") || !strings.Contains(err.Error(), "allowDataLoss") {
				t.Fatalf("a changed volume template must be refused naming the key and the acknowledgement, got %v", err)
			}
			if err := s.RemoveConfigWithOptions(ctx, "obs-stack:loki.singleBinary.storage", &auto.ConfigOptions{Path: true}); err != nil {
				t.Fatal(err)
			}
			expectNoChanges(t, s)
		}},
		{"changes that lose data are refused at preview, each naming what would be lost", func(t *testing.T) {
			s := open(t, dir, "dev", nil)
			for _, c := range []struct{ key, value, refusedFor string }{
				{"obs-stack:cluster.namespace", "observability-moved", "obs-stack:cluster.namespace"},
				{"obs-stack:loki.schemas[0].schema", "v12", "obs-stack:loki.schemas[0] = "},
				{"obs-stack:loki.schemas[0].from", "2023-01-01", "obs-stack:loki.schemas[0] = "},
				{"obs-stack:kafka.enabled", "false", "obs-stack:kafka.enabled = false"},
				{"obs-stack:loki.storage.type", "s3", "obs-stack:loki.storage.type = \"s3\""},
			} {
				setPath(t, s, c.key, c.value)
				_, err := s.Preview(ctx)
				if err == nil || !strings.Contains(err.Error(), c.refusedFor) || !strings.Contains(err.Error(), "allowDataLoss") {
					t.Errorf("%s = %s: want a refusal naming %q and allowDataLoss, got %v", c.key, c.value, c.refusedFor, err)
				}
				if err := s.RemoveConfigWithOptions(ctx, c.key, &auto.ConfigOptions{Path: true}); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := kubectl(t, "get", "namespace", "observability-moved"); err == nil {
				t.Fatalf("a refused preview created a namespace: %s", out)
			}
			expectNoChanges(t, s)
		}},
		{"dev moves from its filesystem PVC to s3 by appending a future period, keeping the PVC", func(t *testing.T) {
			s := open(t, dir, "dev", nil)
			pvc := func() string {
				out, err := kubectl(t, "-n", "observability-dev", "get", "pvc", "storage-loki-single-binary-0", "-o", "jsonpath={.metadata.uid}")
				if err != nil || out == "" {
					t.Fatalf("Loki's PVC: %q (%v)", out, err)
				}
				return out
			}
			before := pvc()
			// The credentials Secret the s3 settings name; Loki reads it from the environment.
			if out, err := kubectl(t, "-n", "observability-dev", "create", "secret", "generic", "loki-s3-credentials",
				"--from-literal=AWS_ACCESS_KEY_ID=test", "--from-literal=AWS_SECRET_ACCESS_KEY=test"); err != nil {
				t.Fatalf("creating the credentials Secret: %v\n%s", err, out)
			}
			for key, value := range futurePeriod("s3", map[string]string{
				"obs-stack:loki.storage.type":                      "s3",
				"obs-stack:loki.storage.s3.endpoint":               "http://minio.minio.svc.cluster.local:9000",
				"obs-stack:loki.storage.s3.buckets.chunks":         "loki-chunks",
				"obs-stack:loki.storage.s3.buckets.ruler":          "loki-ruler",
				"obs-stack:loki.storage.s3.credentialsSecret.name": "loki-s3-credentials",
			}) {
				setPath(t, s, key, value)
			}
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatalf("the documented safe path was refused or failed: %v", err)
			}
			config, err := kubectl(t, "-n", "observability-dev", "get", "configmap", "-l", "app.kubernetes.io/name=loki", "-o", "jsonpath={.items[*].data.config\\.yaml}")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"object_store: filesystem", "object_store: s3", "filesystem:\n    directory: /var/loki/chunks", "bucketnames: loki-chunks"} {
				if !strings.Contains(config, want) {
					t.Errorf("the deployed Loki config lacks %q:\n%s", want, config)
				}
			}
			if after := pvc(); after != before {
				t.Errorf("Loki's PVC was replaced: %s -> %s", before, after)
			}
			expectNoChanges(t, s)
		}},
		{"the move to s3 is withdrawn before its period starts, back to the deployed filesystem", func(t *testing.T) {
			s := open(t, dir, "dev", nil)
			for _, key := range []string{"obs-stack:loki.storage", "obs-stack:loki.schemas"} {
				if err := s.RemoveConfigWithOptions(ctx, key, &auto.ConfigOptions{Path: true}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatalf("withdrawing a period that has not started was refused or failed: %v", err)
			}
			config, err := kubectl(t, "-n", "observability-dev", "get", "configmap", "-l", "app.kubernetes.io/name=loki", "-o", "jsonpath={.items[*].data.config\\.yaml}")
			if err != nil || strings.Contains(config, "object_store: s3") || !strings.Contains(config, "object_store: filesystem") {
				t.Fatalf("the deployed Loki config still names s3, or lost the filesystem period (%v):\n%s", err, config)
			}
			expectNoChanges(t, s)
		}},
		{"dev moves from its filesystem to gcs through a future period; preview reads the key file's Secret first", func(t *testing.T) {
			s := open(t, dir, "dev", nil)
			for key, value := range futurePeriod("gcs", map[string]string{
				"obs-stack:cluster.checkSecrets":                    "true",
				"obs-stack:loki.storage.type":                       "gcs",
				"obs-stack:loki.storage.gcs.buckets.chunks":         "acme-loki-chunks",
				"obs-stack:loki.storage.gcs.buckets.ruler":          "acme-loki-ruler",
				"obs-stack:loki.storage.gcs.credentialsSecret.name": "loki-gcs-key",
			}) {
				setPath(t, s, key, value)
			}
			// The live check (cluster.checkSecrets) reads the Secret through kubectl: first
			// missing, then without the key the settings name; each refused naming its key.
			for _, c := range []struct{ keyFile, refusedFor string }{
				{"", "obs-stack:loki.storage.gcs.credentialsSecret.name"},
				{"service-account.json", "obs-stack:loki.storage.gcs.credentialsSecret.key"},
			} {
				if c.keyFile != "" {
					if out, err := kubectl(t, "-n", "observability-dev", "create", "secret", "generic", "loki-gcs-key", "--from-literal="+c.keyFile+"={}"); err != nil {
						t.Fatalf("creating the key file Secret: %v\n%s", err, out)
					}
				}
				if _, err := s.Preview(ctx); err == nil || !strings.Contains(err.Error(), c.refusedFor) {
					t.Fatalf("key file %q: want a refusal naming %s, got %v", c.keyFile, c.refusedFor, err)
				}
			}
			if out, err := kubectl(t, "-n", "observability-dev", "create", "secret", "generic", "loki-gcs-key", "--from-literal=key.json={}",
				"--dry-run=client", "-o", "yaml"); err != nil || !applyYAML(t, out) {
				t.Fatalf("replacing the key file Secret: %v\n%s", err, out)
			}
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatalf("the move to gcs through a future period was refused or failed: %v", err)
			}
			config, err := kubectl(t, "-n", "observability-dev", "get", "configmap", "-l", "app.kubernetes.io/name=loki", "-o", "jsonpath={.items[*].data.config\\.yaml}")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"object_store: filesystem", "object_store: gcs", "filesystem:\n    directory: /var/loki/chunks", "bucket_name: acme-loki-chunks", "bucket_name: acme-loki-ruler"} {
				if !strings.Contains(config, want) {
					t.Errorf("the deployed Loki config lacks %q:\n%s", want, config)
				}
			}
			pod, err := kubectl(t, "-n", "observability-dev", "get", "statefulset", "loki-single-binary", "-o", "jsonpath={.spec.template.spec.containers[0].env}{.spec.template.spec.volumes}")
			if err != nil || !strings.Contains(pod, "GOOGLE_APPLICATION_CREDENTIALS") || !strings.Contains(pod, `"secretName":"loki-gcs-key"`) {
				t.Errorf("the Loki pods do not read the key file (%v): %s", err, pod)
			}
			expectNoChanges(t, s)
			// Withdrawn before its period starts: back to the deployed filesystem.
			for _, key := range []string{"obs-stack:loki.storage", "obs-stack:loki.schemas", "obs-stack:cluster.checkSecrets"} {
				if err := s.RemoveConfigWithOptions(ctx, key, &auto.ConfigOptions{Path: true}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatalf("withdrawing the move to gcs was refused or failed: %v", err)
			}
			expectNoChanges(t, s)
		}},
		{"a Kafka topic grows on the deployed stack; fewer partitions and more brokers are refused", func(t *testing.T) {
			s := open(t, dir, "dev", nil)
			setPath(t, s, "obs-stack:kafka.topics[0].partitions", "3")
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatalf("growing a topic failed: %v", err)
			}
			script, err := kubectl(t, "-n", "observability-dev", "get", "jobs", "-l", "app.kubernetes.io/component=topics", "-o", "jsonpath={.items[*].spec.template.spec.containers[0].command[2]}")
			if err != nil || !strings.Contains(script, "ensure logs 3 1") || !strings.Contains(script, "--alter") {
				t.Fatalf("the topic Job does not grow logs to 3 partitions (%v):\n%s", err, script)
			}
			t.Log("the topic Job that grows logs to 3 partitions was created and completed: its pod SIMULATED by kwok (no kafka-topics.sh ran; the script's logic is tested in components/kafka)")
			for key, value := range map[string]string{"obs-stack:kafka.topics[0].partitions": "2", "obs-stack:kafka.replicas": "2"} {
				setPath(t, s, key, value)
				_, err := s.Preview(ctx)
				if err == nil || !strings.Contains(err.Error(), key+" = "+value) {
					t.Errorf("%s = %s: want a refusal naming it, got %v", key, value, err)
				}
			}
			setPath(t, s, "obs-stack:kafka.topics[0].partitions", "3")
			if err := s.RemoveConfigWithOptions(ctx, "obs-stack:kafka.replicas", &auto.ConfigOptions{Path: true}); err != nil {
				t.Fatal(err)
			}
			expectNoChanges(t, s)
		}},
		{"a kubernetes: key in Pulumi.yaml is refused at preview and creates nothing", func(t *testing.T) {
			projectFile := filepath.Join(dir, "Pulumi.yaml")
			original, err := os.ReadFile(projectFile)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := os.WriteFile(projectFile, original, 0o644); err != nil {
					t.Fatal(err)
				}
			}()
			withContext := string(original) + "config:\n  kubernetes:context: another-cluster\n"
			if err := os.WriteFile(projectFile, []byte(withContext), 0o644); err != nil {
				t.Fatal(err)
			}
			s := open(t, dir, "elsewhere", nil)
			setPath(t, s, "obs-stack:preset", "dev")
			_, err = s.Preview(ctx)
			if err == nil || !strings.Contains(err.Error(), `kubernetes:context = "another-cluster"`) || !strings.Contains(err.Error(), "obs-stack:cluster.kubeContext") {
				t.Fatalf("preview should refuse kubernetes:context from Pulumi.yaml, naming the obs-stack key, got %v", err)
			}
			if out, err := kubectl(t, "get", "namespace", "observability-elsewhere"); err == nil {
				t.Fatalf("the refused preview created a namespace: %s", out)
			}
			if err := s.Workspace().RemoveStack(ctx, "elsewhere"); err != nil {
				t.Fatal(err)
			}
		}},
		{"monitoring without the Prometheus Operator is refused at preview; its CRDs are installed from its Go module", func(t *testing.T) {
			s := open(t, dir, "prod", nil)
			setPath(t, s, "obs-stack:cluster.namespace", "observability-prod")
			setPath(t, s, "obs-stack:cluster.useLiveNodes", "true") // the one simulated node of 32 CPU / 64Gi
			setPath(t, s, "obs-stack:loki.ingester.antiAffinity", "soft")
			setPath(t, s, "obs-stack:kafka.antiAffinity", "soft")
			_, err := s.Preview(ctx)
			want := "obs-stack:monitoring.enabled = true: the cluster (cluster.useLiveNodes) has no podmonitors.monitoring.coreos.com, servicemonitors.monitoring.coreos.com, prometheusrules.monitoring.coreos.com"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("preview of prod on a cluster without the CRDs: %v\nwant %s", err, want)
			}
			if out, err := kubectl(t, "get", "namespace", "observability-prod"); err == nil {
				t.Fatalf("the refused preview created something: %s", out)
			}
			if err := s.RemoveConfig(ctx, "obs-stack:cluster.useLiveNodes"); err != nil {
				t.Fatal(err)
			}

			crds, err := operatorcrds.Install(repoRoot, os.Getenv("KUBECONFIG"))
			if err != nil {
				t.Fatalf("installing the Prometheus Operator CRDs: %v", err)
			}
			t.Logf("installed the CRDs of %s (%s)", monitoring.OperatorModule, crds)
		}},
		{"an interrupted prod up is recovered and converges to Ready (pods simulated by kwok)", func(t *testing.T) {
			s := open(t, dir, "prod", nil)
			// One simulated node: keep prod's sizing but let replicas share it, in its own namespace.
			setPath(t, s, "obs-stack:cluster.namespace", "observability-prod")
			setPath(t, s, "obs-stack:cluster.nodes", "1") // the simulated node of TestMain
			setPath(t, s, "obs-stack:cluster.nodeCPU", "32")
			setPath(t, s, "obs-stack:cluster.nodeMemory", "64Gi")
			setPath(t, s, "obs-stack:loki.ingester.antiAffinity", "soft")
			setPath(t, s, "obs-stack:kafka.antiAffinity", "soft")

			deployBin := filepath.Join(t.TempDir(), "deploy")
			build := exec.Command("go", "build", "-o", deployBin, "./cmd/deploy")
			build.Dir = repoRoot
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("building cmd/deploy: %v\n%s", err, out)
			}
			cmd := func(action string) *exec.Cmd {
				c := exec.Command(deployBin, "-dir", dir, "-stack", "prod", "-action", action)
				c.Stdout, c.Stderr = testWriter{t, ""}, testWriter{t, ""}
				c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				return c
			}
			interrupted := cmd("up")
			if err := interrupted.Start(); err != nil {
				t.Fatal(err)
			}
			// Kill the driver and the engine (one process group) once objects start to appear.
			deadline := time.Now().Add(3 * time.Minute)
			for time.Now().Before(deadline) {
				if out, err := kubectl(t, "-n", "observability-prod", "get", "services", "-o", "name"); err == nil && strings.Count(out, "\n") >= 3 {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err := syscall.Kill(-interrupted.Process.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = interrupted.Wait()
			// The engine starts its plugins in their own process groups: killing it leaves the
			// Kubernetes provider running as an orphan. Find it by the suite's marker, stop it by PID.
			orphans := stopMarked(2 * time.Second)
			t.Logf("killed the engine mid-up; stopped the plugins it left running: %v", orphans)
			if left := marked(); len(left) > 0 {
				t.Fatalf("Pulumi processes still running after stopping them: %v", left)
			}
			t.Log("recovering as the README documents")
			if err := cmd("recover").Run(); err != nil {
				t.Fatalf("recover: %v", err)
			}
			start := time.Now()
			if err := cmd("up").Run(); err != nil {
				t.Fatalf("up after recover: %v", err)
			}
			t.Logf("measured: up of prod after recovery took %s", time.Since(start).Round(time.Millisecond))
			// The local state is written by atomic renames only, with no fileblob sidecar rewritten
			// in place (deploy.withoutSidecars): a kill like the one above can no longer leave a
			// checkpoint that fails to load ("failed to load checkpoint: EOF", seen once here).
			stackFiles, _ := filepath.Glob(filepath.Join(dir, deploy.StateDir, ".pulumi", "stacks", "*", "*.json*"))
			if len(stackFiles) == 0 {
				t.Errorf("no stack checkpoint under %s: the layout of the local state changed", filepath.Join(dir, deploy.StateDir))
			}
			for _, f := range stackFiles {
				if strings.HasSuffix(f, ".attrs") {
					t.Errorf("%s: the local state still gets fileblob sidecar files", f)
				}
			}
			out, err := kubectl(t, "-n", "observability-prod", "get", "statefulset", "loki-ingester", "-o", "jsonpath={.status.readyReplicas}")
			if err != nil || out != "3" {
				t.Fatalf("loki-ingester ready replicas = %q (%v)", out, err)
			}
			t.Log("loki-ingester has 3 Ready replicas: pods SIMULATED by kwok (scheduled and marked Ready; no container ran)")

			// The monitoring objects were applied for real: the API server checked each against
			// its CRD's schema. The list is prod's, written by hand.
			objects, err := kubectl(t, "-n", "observability-prod", "get", "podmonitors,servicemonitors,prometheusrules", "-o", "name")
			if err != nil {
				t.Fatalf("listing the monitoring objects: %v\n%s", err, objects)
			}
			got := strings.Fields(objects)
			slices.Sort(got)
			want := []string{
				"podmonitor.monitoring.coreos.com/kafka-exporter", "podmonitor.monitoring.coreos.com/loki",
				"podmonitor.monitoring.coreos.com/loki-canary", "podmonitor.monitoring.coreos.com/loki-gateway",
				"podmonitor.monitoring.coreos.com/memcached", "prometheusrule.monitoring.coreos.com/obs-stack",
				"servicemonitor.monitoring.coreos.com/alloy",
			}
			if !slices.Equal(got, want) {
				t.Errorf("monitoring objects in observability-prod:\n got  %q\n want %q", got, want)
			}
			if out, err := kubectl(t, "-n", "observability-prod", "get", "configmap", monitoring.DashboardsConfigMap("observability-prod"), "-o", "jsonpath={.metadata.labels.grafana_dashboard}"); err != nil || out != "1" {
				t.Errorf("dashboards ConfigMap: label %q (%v)", out, err)
			}

			// verify refuses the simulated plane, naming why, and says how long its check took.
			var verifyOut strings.Builder
			v := exec.Command(deployBin, "-dir", dir, "-stack", "prod", "-action", "verify")
			v.Stdout, v.Stderr = &verifyOut, &verifyOut
			start = time.Now()
			err = v.Run()
			t.Logf("measured: verify on the local plane exited after %s:\n%s", time.Since(start).Round(time.Millisecond), verifyOut.String())
			if err == nil || !strings.Contains(verifyOut.String(), "simulated by kwok") {
				t.Errorf("verify on the simulated plane must refuse, naming kwok: err %v", err)
			}
			prod := open(t, dir, "prod", nil)
			expectNoChanges(t, prod)

			// The gateway password is a secret output and appears in no ConfigMap of the cluster.
			outputs, err := prod.Outputs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			password, ok := outputs["gatewayPassword"].Value.(string)
			if !ok || len(password) < 32 || !outputs["gatewayPassword"].Secret {
				t.Fatalf("gatewayPassword must be a secret output of 32 characters, got secret=%v", outputs["gatewayPassword"].Secret)
			}
			for _, kind := range []string{"configmaps", "deployments", "statefulsets", "daemonsets"} {
				if out, err := kubectl(t, "get", kind, "-A", "-o", "yaml"); err != nil || strings.Contains(out, password) {
					t.Errorf("the gateway password appears in %s (or kubectl failed: %v)", kind, err)
				}
			}
		}},
		{"the program never fights the autoscaler: a querier scaled by hand stays scaled through preview and up", func(t *testing.T) {
			s := open(t, dir, "prod", nil)
			replicas := func() string {
				out, err := kubectl(t, "-n", "observability-prod", "get", "deployment", "loki-querier", "-o", "jsonpath={.spec.replicas}")
				if err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				return out
			}
			setPath(t, s, "obs-stack:loki.querier.autoscaling.maxReplicas", "6")
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatalf("turning the querier's autoscaler on: %v", err)
			}
			if got := replicas(); got != "3" {
				t.Errorf("handing the count to the autoscaler changed it: replicas %s, want the deployed 3", got)
			}
			if out, err := kubectl(t, "-n", "observability-prod", "get", "hpa", "loki-querier", "-o", "jsonpath={.spec.minReplicas}/{.spec.maxReplicas}"); err != nil || out != "3/6" {
				t.Fatalf("the querier's HorizontalPodAutoscaler: %q (%v), want 3/6", out, err)
			}
			// As the autoscaler would: through the scale subresource, under another field manager.
			if out, err := kubectl(t, "-n", "observability-prod", "scale", "deployment", "loki-querier", "--replicas=5"); err != nil {
				t.Fatalf("kubectl scale: %v: %s", err, out)
			}
			expectNoChanges(t, s)
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatal(err)
			}
			if got := replicas(); got != "5" {
				t.Errorf("an up scaled the autoscaled querier back: replicas %s, want 5", got)
			}
			expectNoChanges(t, s)
			// A change that updates the Deployment (its pod template rolls) keeps the count too.
			setPath(t, s, "obs-stack:loki.querier.resources.limits.memory", "3Gi")
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatal(err)
			}
			if got := replicas(); got != "5" {
				t.Errorf("updating the autoscaled querier's Deployment reset its count: replicas %s, want 5", got)
			}
			if err := s.RemoveConfigWithOptions(ctx, "obs-stack:loki.querier.resources.limits.memory", &auto.ConfigOptions{Path: true}); err != nil {
				t.Fatal(err)
			}
			// Off again: the program owns the count and sets the declared 3.
			if err := s.RemoveConfigWithOptions(ctx, "obs-stack:loki.querier.autoscaling", &auto.ConfigOptions{Path: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatal(err)
			}
			if got := replicas(); got != "3" {
				t.Errorf("with the autoscaler off the declared count should be back: replicas %s, want 3", got)
			}
			if out, err := kubectl(t, "-n", "observability-prod", "get", "hpa", "loki-querier", "--ignore-not-found", "-o", "name"); err != nil || out != "" {
				t.Errorf("the HorizontalPodAutoscaler should be gone: %q (%v)", out, err)
			}
			expectNoChanges(t, s)
		}},
		{"what each key's change does to the deployed stacks is the README's table", func(t *testing.T) {
			changeTable(t, dir, map[string]auto.Stack{"dev": open(t, dir, "dev", nil), "prod": open(t, dir, "prod", nil)})
		}},
		{"tenants on the deployed prod: a limit changes one ConfigMap and rolls nothing; a new tenant creates only its own objects", func(t *testing.T) {
			s := open(t, dir, "prod", nil)
			setPath(t, s, "obs-stack:loki.tenants[0].name", "team-a")
			setPath(t, s, "obs-stack:loki.tenants[0].namespaces[0]", "shop")
			setPath(t, s, "obs-stack:loki.tenants[0].limits.ingestionRateMB", "8")
			setPath(t, s, "obs-stack:loki.tenants[0].limits.ingestionBurstSizeMB", "16")
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, ""})); err != nil {
				t.Fatalf("up with a tenant: %v", err)
			}
			if out, err := kubectl(t, "-n", "observability-prod", "get", "secret", "loki-tenant-team-a", "-o", "jsonpath={.data.username}"); err != nil || out != "dGVhbS1h" { // base64 of team-a
				t.Fatalf("team-a's Secret: %q (%v)", out, err)
			}
			ops := func() map[string][]string {
				steps, err := previewSteps(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string][]string{}
				for _, st := range steps {
					if st.Op != apitype.OpSame && st.Op != apitype.OpRead {
						got[string(st.Op)] = append(got[string(st.Op)], st.Type+" "+resource.URN(st.URN).Name())
					}
				}
				return got
			}
			setPath(t, s, "obs-stack:loki.tenants[0].limits.ingestionRateMB", "12")
			if got := ops(); fmt.Sprint(got) != fmt.Sprint(map[string][]string{"update": {"kubernetes:core/v1:ConfigMap loki-runtime"}}) {
				t.Fatalf("one tenant limit changed: %v, want one update of the runtime ConfigMap", got)
			}
			if _, err := s.Up(ctx); err != nil {
				t.Fatal(err)
			}
			runtime, err := kubectl(t, "-n", "observability-prod", "get", "configmap", "loki-runtime", "-o", "jsonpath={.data.runtime\\.yaml}")
			if err != nil || !strings.Contains(runtime, "ingestion_rate_mb: 12") {
				t.Fatalf("the runtime ConfigMap: %q (%v)", runtime, err)
			}
			t.Log("team-a's rate changed by one ConfigMap update, no workload touched (Loki reloads the mounted file; its pods here are simulated by kwok)")

			setPath(t, s, "obs-stack:loki.tenants[1].name", "team-b")
			setPath(t, s, "obs-stack:loki.tenants[1].namespaces[0]", "search")
			got := ops()
			created := got["create"]
			slices.Sort(created)
			if want := []string{"kubernetes:core/v1:Secret gateway-tenant-team-b", "random:index/randomPassword:RandomPassword gateway-password-team-b"}; !slices.Equal(created, want) {
				t.Fatalf("adding team-b creates %v, want %v (all changes: %v)", created, want, got)
			}
			if len(got["delete"]) > 0 || len(got["replace"]) > 0 {
				t.Fatalf("adding a tenant deletes %v and replaces %v", got["delete"], got["replace"])
			}
			t.Logf("adding team-b: %v", got)
			if _, err := s.Up(ctx); err != nil {
				t.Fatal(err)
			}
			expectNoChanges(t, s)
		}},
		{"zones: the scheduler spreads a zoned stack over three zones of simulated nodes; a deployed stack keeps its zones", func(t *testing.T) {
			// Three more simulated nodes, one per zone, labelled as cloud providers label theirs
			// (toolchain/nodes.sh); node 0 has no zone, so no pod of the zoned stack may land there.
			zones := []string{"zone-a", "zone-b", "zone-c"}
			add := exec.Command("bash", filepath.Join(repoRoot, "toolchain/nodes.sh"))
			add.Env = append(os.Environ(), "FIRST=1", "NODES=3", "ZONES="+strings.Join(zones, ","), "NODE_CPU=8", "NODE_MEMORY=32Gi")
			if out, err := add.CombinedOutput(); err != nil {
				t.Fatalf("adding zoned nodes: %v\n%s", err, out)
			}
			defer func() {
				if out, err := kubectl(t, "delete", "node", "kwok-simulated-node-1", "kwok-simulated-node-2", "kwok-simulated-node-3"); err != nil {
					t.Errorf("removing the zoned nodes: %v\n%s", err, out)
				}
			}()

			prod := open(t, dir, "prod", nil)
			for i, zone := range zones {
				setPath(t, prod, fmt.Sprintf("obs-stack:cluster.zones.names[%d]", i), zone)
			}
			setPath(t, prod, "obs-stack:cluster.nodes", "3")
			_, err := prod.Preview(ctx)
			if err == nil || !strings.Contains(err.Error(), "obs-stack:cluster.zones.names = ") || !strings.Contains(err.Error(), "runs with no zones") {
				t.Fatalf("zones turned on for the deployed prod: want a refusal naming cluster.zones.names, got %v", err)
			}
			t.Log("turning zones on for the deployed prod is refused at preview, naming obs-stack:cluster.zones.names")
			if err := prod.RemoveConfigWithOptions(ctx, "obs-stack:cluster.zones", &auto.ConfigOptions{Path: true}); err != nil {
				t.Fatal(err)
			}
			setPath(t, prod, "obs-stack:cluster.nodes", "1")
			expectNoChanges(t, prod)

			s := open(t, dir, "zones", nil)
			for key, value := range map[string]string{
				"obs-stack:preset": "prod", "obs-stack:cluster.protectData": "false", "obs-stack:monitoring.enabled": "false",
				"obs-stack:cluster.nodes": "3", "obs-stack:cluster.nodeCPU": "8", "obs-stack:cluster.nodeMemory": "32Gi",
				"obs-stack:cluster.zones.names[0]": zones[0], "obs-stack:cluster.zones.names[1]": zones[1], "obs-stack:cluster.zones.names[2]": zones[2],
			} {
				setPath(t, s, key, value)
			}
			start := time.Now()
			if _, err := s.Up(ctx, optup.ProgressStreams(testWriter{t, "zones: "})); err != nil {
				t.Fatalf("up of the zoned stack: %v", err)
			}
			t.Logf("measured: up of the zoned stack took %s", time.Since(start).Round(time.Millisecond))
			defer func() {
				if _, err := deploy.Destroy(ctx, s); err != nil {
					t.Errorf("destroy the zoned stack: %v", err)
				}
				if err := s.Workspace().RemoveStack(ctx, "zones"); err != nil {
					t.Error(err)
				}
			}()
			expectNoChanges(t, s)

			zoneOf := map[string]string{}
			out, err := kubectl(t, "get", "nodes", "-o", `go-template={{range .items}}{{.metadata.name}} {{index .metadata.labels "topology.kubernetes.io/zone"}}{{"\n"}}{{end}}`)
			if err != nil {
				t.Fatal(err, out)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				node, zone, _ := strings.Cut(line, " ")
				zoneOf[node] = strings.TrimSpace(strings.ReplaceAll(zone, "<no value>", "")) // go-template's missing label
			}
			out, err = kubectl(t, "-n", "observability-zones", "get", "pods", "-o", `go-template={{range .items}}{{.metadata.name}} {{index .metadata.labels "app.kubernetes.io/component"}} {{.spec.nodeName}}{{"\n"}}{{end}}`)
			if err != nil {
				t.Fatal(err, out)
			}
			perComponent := map[string]map[string]int{} // component: zone: pods
			var placed []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				f := strings.Fields(line)
				if len(f) != 3 {
					t.Errorf("pod not scheduled: %q", line)
					continue
				}
				pod, component, zone := f[0], f[1], zoneOf[f[2]]
				if zone == "" {
					if component != "collector" { // Alloy's DaemonSet runs on every node
						t.Errorf("pod %s runs on %s, which is in no declared zone", pod, f[2])
					}
					continue
				}
				if z, ok := strings.CutPrefix(pod, "loki-ingester-"); ok && !strings.HasPrefix(z, zone+"-") {
					t.Errorf("ingester %s runs in %s", pod, zone)
				}
				if perComponent[component] == nil {
					perComponent[component] = map[string]int{}
				}
				perComponent[component][zone]++
				placed = append(placed, pod+"@"+zone)
			}
			for component, byZone := range perComponent {
				pods, least, most := 0, 1<<30, 0
				for _, z := range zones {
					pods += byZone[z]
					least, most = min(least, byZone[z]), max(most, byZone[z])
				}
				if pods > 1 && most-least > 1 {
					t.Errorf("%s: %d pods spread %v over the zones, a skew above 1", component, pods, byZone)
				}
			}
			for _, component := range []string{"ingester", "distributor", "querier", "broker"} {
				if byZone := perComponent[component]; byZone["zone-a"] != 1 || byZone["zone-b"] != 1 || byZone["zone-c"] != 1 {
					t.Errorf("%s: %v, want one pod in each zone", component, byZone)
				}
			}
			slices.Sort(placed)
			t.Logf("where the kube-scheduler placed the zoned stack's pods (pods SIMULATED by kwok, so this is the scheduler's placement, not running containers): %s", strings.Join(placed, " "))
		}},
		{"rendered manifests pass a server-side dry run", func(t *testing.T) {
			for _, stack := range []string{"dev", "prod"} {
				out := t.TempDir()
				os.Setenv(program.RenderDirEnv, out)
				// Rendering gets its own state: it must never share a stack with a deployment. It sits
				// under .state, as up.sh's does, so it shares the passphrase of the stack file's salt.
				s := open(t, dir, stack, map[string]string{"PULUMI_BACKEND_URL": "file://" + filepath.Join(dir, deploy.StateDir, "render-"+stack)})
				_, err := s.Up(ctx)
				os.Unsetenv(program.RenderDirEnv)
				if err != nil {
					t.Fatalf("render %s: %v", stack, err)
				}
				if res, err := kubectl(t, "apply", "--dry-run=server", "-R", "-f", filepath.Join(out, "1-manifest")); err != nil {
					t.Fatalf("server dry run of rendered %s: %v\n%s", stack, err, res)
				}
			}
		}},
		{"destroy leaves nothing behind once protection is lifted", func(t *testing.T) {
			// dev protects nothing and shares nothing with prod: it is destroyed while prod's
			// protection is lifted and prod destroyed (one after the other, the two took 15 s + 26 s).
			dev := open(t, dir, "dev", nil)
			devDestroyed := make(chan error, 1)
			go func() {
				_, err := deploy.Destroy(ctx, dev, optdestroy.ProgressStreams(testWriter{t, "dev: "}))
				devDestroyed <- err
			}()
			// prod protects its data: destroy is refused until protectData is turned off and
			// applied, and refused before it deletes anything (checked below).
			prod := open(t, dir, "prod", nil)
			if _, err := deploy.Destroy(ctx, prod); err == nil || !strings.Contains(err.Error(), "protected") || !strings.Contains(err.Error(), "nothing was deleted") {
				t.Errorf("destroying prod must be refused while its data is protected, got %v", err)
			} else {
				t.Logf("refused as it should be: %v", err)
			}
			setPath(t, prod, "obs-stack:cluster.protectData", "false")
			start := time.Now()
			res, err := prod.Up(ctx, optup.ProgressStreams(testWriter{t, "prod (protection lifted): "}))
			if err != nil {
				t.Errorf("unprotecting prod: %v", err)
			} else {
				// The refused destroy deleted nothing: lifting the protection flips flags in the
				// state and creates nothing back.
				if c := deploy.UpChanges(res.Summary); len(c) > 0 {
					t.Errorf("lifting prod's protection after the refused destroy changed %v: the refused destroy deleted what it should have kept", c)
				}
				t.Logf("measured: lifting prod's protection (an up) took %s", time.Since(start).Round(time.Millisecond))
				if _, err := deploy.Destroy(ctx, prod, optdestroy.ProgressStreams(testWriter{t, "prod: "})); err != nil {
					t.Errorf("destroy prod: %v", err)
				}
			}
			if err := <-devDestroyed; err != nil {
				t.Errorf("destroy dev: %v", err)
			}
			if t.Failed() {
				return
			}
			for _, ns := range []string{"observability-dev", "observability-prod"} {
				if out, err := kubectl(t, "get", "namespace", ns); err == nil {
					t.Errorf("namespace %s still there after destroy: %s", ns, out)
				}
			}
			if out, _ := kubectl(t, "get", "pvc", "-A", "-o", "name"); strings.TrimSpace(out) != "" {
				t.Errorf("PVCs left after destroy: %s", out)
			}
		}},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.fn) {
			return // later steps build on earlier ones
		}
	}
}

// testWriter sends engine progress to the test log, each line after prefix (which stack it is
// when two run at once).
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
