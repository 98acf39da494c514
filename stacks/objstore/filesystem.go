package objstore

// Where Loki keeps a filesystem store: on the PVC mounted at DataDir.
const (
	DataDir   = "/var/loki"
	ChunksDir = DataDir + "/chunks"
	RulesDir  = DataDir + "/rules"
)

// filesystem is a PVC (SingleBinary with one replica only: validation checks the mode).
type filesystem struct{}

func (filesystem) Kind() Kind { return Filesystem }

// Common: common.storage.filesystem (pkg/loki/common/common.go Storage.FSConfig, a
// FilesystemConfig: chunks_directory, rules_directory); its rules directory is also where the
// ruler reads rules from (a local, read-only ruler store).
func (filesystem) Common() (string, any) {
	return "filesystem", map[string]string{"chunks_directory": ChunksDir, "rules_directory": RulesDir}
}

// Secondary: storage_config.filesystem (pkg/storage/factory.go Config.FSConfig, a
// local.FSConfig of pkg/storage/chunk/client/local/fs_object_client.go: directory).
func (filesystem) Secondary() (string, any) {
	return "filesystem", map[string]string{"directory": ChunksDir}
}

func (filesystem) Ruler() (map[string]any, bool) { return nil, false }
func (filesystem) Pod() Pod                      { return Pod{} }
func (filesystem) Egress() []Egress              { return nil }
func (filesystem) Secrets() []SecretNeed         { return nil }

// Record: the PVC's identity is recorded with the volumes (its size and storage class).
func (filesystem) Record() Record { return Record{Store: "the Loki PVC"} }
