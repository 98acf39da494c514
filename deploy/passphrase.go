package deploy

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// StateDir is the local file backend's folder under the project folder; PassphraseFile is
// the passphrase generated for it.
const (
	StateDir       = ".state"
	PassphraseFile = "passphrase"
)

// passphrase decides where Pulumi's passphrase secrets provider gets its passphrase from,
// adding PULUMI_CONFIG_PASSPHRASE_FILE to env when it is ours to choose:
//   - PULUMI_CONFIG_PASSPHRASE (non-empty) or PULUMI_CONFIG_PASSPHRASE_FILE given: used as is.
//   - a file backend inside <project>/.state (the default, and up.sh's render state): a random
//     passphrase generated once into .state/passphrase (0600).
//   - any other backend is shared or not ours: refused without a passphrase, except a Pulumi
//     Cloud (https) backend whose stack file has no encryptionsalt (its secrets are the service's).
//
// An empty PULUMI_CONFIG_PASSPHRASE set on purpose is accepted for local state only (stacks
// made before the generated passphrase existed).
func passphrase(dir, stack, backend string, lookup func(string) (string, bool), env map[string]string) error {
	pass, set := lookup("PULUMI_CONFIG_PASSPHRASE")
	if pass != "" {
		return nil
	}
	if f, _ := lookup("PULUMI_CONFIG_PASSPHRASE_FILE"); f != "" {
		return nil
	}
	stackFile := filepath.Join(dir, "Pulumi."+stack+".yaml")
	salted := hasEncryptionSalt(stackFile)
	state := filepath.Join(dir, StateDir)
	if !isLocalBackend(backend, state) {
		if strings.HasPrefix(backend, "https://") && !salted {
			return nil
		}
		return fmt.Errorf("PULUMI_BACKEND_URL=%s is not this project's local state (%s): set PULUMI_CONFIG_PASSPHRASE "+
			"or PULUMI_CONFIG_PASSPHRASE_FILE to the passphrase of the stack's secrets (an empty one is refused)", redact(backend), state)
	}
	if set {
		fmt.Fprintln(os.Stderr, "deploy: PULUMI_CONFIG_PASSPHRASE is set but empty: secrets in the local state use an empty passphrase")
		return nil
	}
	file := filepath.Join(state, PassphraseFile)
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		if salted {
			return fmt.Errorf("%s has an encryptionsalt but %s does not exist: its secrets were made with another passphrase. "+
				"Set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE to it (PULUMI_CONFIG_PASSPHRASE= for stacks made by "+
				"scripts/up.sh before it generated one), or, if the stack has no state here yet, delete the encryptionsalt line",
				stackFile, file)
		}
		if err := newPassphrase(file); err != nil {
			return err
		}
	}
	env["PULUMI_CONFIG_PASSPHRASE_FILE"] = file
	return nil
}

// newPassphrase writes 32 random bytes (crypto/rand), base64url, to a new file readable only
// by its owner. O_EXCL: a concurrent first run cannot overwrite another's passphrase.
func newPassphrase(file string) error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("writing the local state's passphrase: %w", err)
	}
	if _, err := f.WriteString(base64.RawURLEncoding.EncodeToString(b) + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// isLocalBackend: a file:// URL for state (or a folder inside it).
func isLocalBackend(backend, state string) bool {
	u, err := url.Parse(backend)
	if err != nil || u.Scheme != "file" {
		return false
	}
	rel, err := filepath.Rel(state, filepath.Clean(u.Path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func hasEncryptionSalt(stackFile string) bool {
	b, err := os.ReadFile(stackFile)
	return err == nil && encryptionSalt.Match(b)
}

// redact drops credentials from a backend URL before it goes into an error.
func redact(backend string) string {
	u, err := url.Parse(backend)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// CopyProject copies the project file and the stack files from root into dir without their
// encryptionsalt: the copy's stacks get a passphrase of their own (the integration suite's and
// the benchmark's), and a salt that ./scripts/up.sh wrote into the checkout belongs to its
// .state/passphrase.
func CopyProject(root, dir string) error {
	for _, f := range []string{"Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return err
		}
		b = encryptionSalt.ReplaceAll(b, nil)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// encryptionSalt is a stack file's encryptionsalt line.
var encryptionSalt = regexp.MustCompile(`(?m)^encryptionsalt:.*\n?`)
