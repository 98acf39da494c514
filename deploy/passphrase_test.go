package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func project(t *testing.T, stackFile string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.dev.yaml"), []byte(stackFile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLocalStateGetsAGeneratedPassphraseOnce(t *testing.T) {
	dir := project(t, "config: {}\n")
	backend := "file://" + filepath.Join(dir, StateDir)
	got := map[string]string{}
	if err := passphrase(dir, "dev", backend, env(nil), got); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, StateDir, PassphraseFile)
	if got["PULUMI_CONFIG_PASSPHRASE_FILE"] != file {
		t.Fatalf("PULUMI_CONFIG_PASSPHRASE_FILE = %q, want %q", got["PULUMI_CONFIG_PASSPHRASE_FILE"], file)
	}
	if _, set := got["PULUMI_CONFIG_PASSPHRASE"]; set {
		t.Fatal("an empty PULUMI_CONFIG_PASSPHRASE was set")
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("passphrase file mode %v, want 0600", st.Mode().Perm())
	}
	first, _ := os.ReadFile(file)
	if len(strings.TrimSpace(string(first))) < 40 {
		t.Errorf("passphrase too short: %d characters", len(strings.TrimSpace(string(first))))
	}
	// Second run, and the render state (.state/render) of the same project: the same passphrase,
	// since both use the one stack file's encryptionsalt.
	if err := passphrase(dir, "dev", backend+"/render", env(nil), got); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(file); string(again) != string(first) {
		t.Error("the passphrase changed on a second run")
	}
	// Another project gets its own.
	other := project(t, "")
	if err := passphrase(other, "dev", "file://"+filepath.Join(other, StateDir), env(nil), map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(other, StateDir, PassphraseFile)); string(b) == string(first) {
		t.Error("two projects got the same passphrase")
	}
}

func TestSharedBackendNeedsAPassphrase(t *testing.T) {
	dir := project(t, "encryptionsalt: v1:abc\n")
	for _, backend := range []string{"s3://bucket/state", "file:///srv/shared-state", "https://api.pulumi.com", "postgres://ops:hunter2@db/state"} {
		for _, vars := range []map[string]string{nil, {"PULUMI_CONFIG_PASSPHRASE": ""}} {
			err := passphrase(dir, "dev", backend, env(vars), map[string]string{})
			if err == nil {
				t.Fatalf("%s with passphrase env %v: accepted", backend, vars)
			}
			for _, want := range []string{"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error does not name %s: %v", backend, want, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the backend's password: %v", err)
			}
		}
		for _, vars := range []map[string]string{{"PULUMI_CONFIG_PASSPHRASE": "s3cret"}, {"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/pass"}} {
			got := map[string]string{}
			if err := passphrase(dir, "dev", backend, env(vars), got); err != nil || len(got) != 0 {
				t.Errorf("%s with %v: err %v, env added %v", backend, vars, err, got)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, StateDir)); err == nil {
		t.Error("a passphrase was generated for a shared backend")
	}
	// Pulumi Cloud keeps secrets itself when the stack file has no passphrase salt.
	if err := passphrase(project(t, ""), "dev", "https://api.pulumi.com", env(nil), map[string]string{}); err != nil {
		t.Errorf("Pulumi Cloud without an encryptionsalt: %v", err)
	}
}

func TestSaltedStackWithoutItsPassphraseIsRefused(t *testing.T) {
	dir := project(t, "encryptionsalt: v1:abc\nconfig: {}\n")
	err := passphrase(dir, "dev", "file://"+filepath.Join(dir, StateDir), env(nil), map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "encryptionsalt") || !strings.Contains(err.Error(), "PULUMI_CONFIG_PASSPHRASE") {
		t.Fatalf("want a refusal naming the salt and the env vars, got %v", err)
	}
	// Said explicitly, an empty passphrase is the user's choice for local state.
	if err := passphrase(dir, "dev", "file://"+filepath.Join(dir, StateDir), env(map[string]string{"PULUMI_CONFIG_PASSPHRASE": ""}), map[string]string{}); err != nil {
		t.Fatal(err)
	}
}

// TestCopyProjectDropsTheSalt: the copy keeps every line of the stack files but their
// encryptionsalt, which belongs to the checkout's .state/passphrase.
func TestCopyProjectDropsTheSalt(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	files := map[string]string{
		"Pulumi.yaml":      "name: obs-stack\nruntime: go\n",
		"Pulumi.dev.yaml":  "encryptionsalt: v1:abc:def\nconfig:\n  obs-stack:loki.mode: SingleBinary\n",
		"Pulumi.prod.yaml": "config:\n  obs-stack:cluster.nodes: 3\nencryptionsalt: v1:ghi", // last line, no newline
	}
	for f, text := range files {
		if err := os.WriteFile(filepath.Join(root, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := CopyProject(root, dir); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{
		"Pulumi.yaml":      files["Pulumi.yaml"],
		"Pulumi.dev.yaml":  "config:\n  obs-stack:loki.mode: SingleBinary\n",
		"Pulumi.prod.yaml": "config:\n  obs-stack:cluster.nodes: 3\n",
	} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q (%v), want %q", f, got, err, want)
		}
	}
	if err := CopyProject(t.TempDir(), dir); err == nil {
		t.Error("a root without stack files must be an error")
	}
}
