package workflows

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"golang.org/x/mod/modfile"

	"obs-stack/stacks"
)

// These tests check .github/renovate.json, the update automation: Renovate's gomod and
// github-actions managers, and regex custom managers for what no built-in manager reads (the
// container images in stacks/presets.go, the Prometheus Operator module the CRDs come from,
// the toolchain pins in toolchain/versions.env). They apply the config's regular expressions
// the way Renovate does (regex/strategies.ts: every matchString with the g flag only, each
// match one dependency) and compare what they extract with what the files hold.

const presetsPath = "stacks/presets.go"

// renovateConfig is every field .github/renovate.json may have: decoding disallows any other,
// so a field these tests do not know, or one under an old name (fileMatch, regexManagers,
// matchPackagePatterns, matchStringsStrategy), fails until the test is taught it.
type renovateConfig struct {
	Schema            string          `json:"$schema"`
	Description       string          `json:"description"`
	Extends           []string        `json:"extends"`
	EnabledManagers   []string        `json:"enabledManagers"`
	PostUpdateOptions []string        `json:"postUpdateOptions"`
	CustomManagers    []customManager `json:"customManagers"`
	PackageRules      []packageRule   `json:"packageRules"`
}

type customManager struct {
	Description            string   `json:"description"`
	CustomType             string   `json:"customType"`
	ManagerFilePatterns    []string `json:"managerFilePatterns"`
	MatchStrings           []string `json:"matchStrings"`
	DepNameTemplate        string   `json:"depNameTemplate"`
	DatasourceTemplate     string   `json:"datasourceTemplate"`
	VersioningTemplate     string   `json:"versioningTemplate"`
	ExtractVersionTemplate string   `json:"extractVersionTemplate"`
}

type packageRule struct {
	Description       string   `json:"description"`
	MatchDatasources  []string `json:"matchDatasources"`
	MatchPackageNames []string `json:"matchPackageNames"`
	GroupName         string   `json:"groupName"`
}

func readRenovate(t *testing.T) renovateConfig {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, ".github/renovate.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c renovateConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf(".github/renovate.json: %v", err)
	}
	if dec.More() {
		t.Fatal(".github/renovate.json: more than one JSON value")
	}
	return c
}

// compileRenovate compiles a matchString. Renovate's regexes are JavaScript's run by RE2, which
// Go's regexp implements; only the named-group spelling differs: (?<name>…) there, (?P<name>…)
// in Go before 1.22. A lookbehind (?<=…) becomes (?P<=…) and fails here as it fails in RE2.
func compileRenovate(t *testing.T, s string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(strings.ReplaceAll(s, "(?<", "(?P<"))
	if err != nil {
		t.Fatalf("matchString %q: %v", s, err)
	}
	return re
}

// matchesFile reports whether a managerFilePatterns entry selects the repository path. A
// pattern between slashes is a regex; anything else is a minimatch glob, which this test only
// reads when it is an exact path.
func matchesFile(t *testing.T, pattern, path string) bool {
	t.Helper()
	if body, ok := strings.CutPrefix(pattern, "/"); ok && strings.HasSuffix(body, "/") {
		return compileRenovate(t, strings.TrimSuffix(body, "/")).MatchString(path)
	}
	if strings.ContainsAny(pattern, "*?[]{}!") {
		t.Fatalf("managerFilePatterns %q: a glob; this test reads regexes (/…/) and exact paths only", pattern)
	}
	return pattern == path
}

// repoFiles lists the repository's files, slash-separated and relative to the root, without
// .git.
func repoFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// renovateDep is one dependency a custom manager extracts, as Renovate builds it
// (regex/utils.ts createDependency: a field's template if set, else its named group).
type renovateDep struct {
	file, depName, currentValue, currentDigest, datasource string
	start, end                                             int // of the whole match in file
	depNameAt                                              int // offset of the depName group, -1 if templated
}

func extract(t *testing.T, m customManager, file string, content []byte) []renovateDep {
	t.Helper()
	var deps []renovateDep
	for _, s := range m.MatchStrings {
		re := compileRenovate(t, s)
		for _, loc := range re.FindAllSubmatchIndex(content, -1) {
			group := func(name string) (string, int) {
				if i := re.SubexpIndex(name); i >= 0 && loc[2*i] >= 0 {
					return string(content[loc[2*i]:loc[2*i+1]]), loc[2*i]
				}
				return "", -1
			}
			d := renovateDep{file: file, start: loc[0], end: loc[1]}
			d.depName, d.depNameAt = group("depName")
			if m.DepNameTemplate != "" {
				d.depName, d.depNameAt = m.DepNameTemplate, -1
			}
			d.currentValue, _ = group("currentValue")
			d.currentDigest, _ = group("currentDigest")
			d.datasource, _ = group("datasource")
			if m.DatasourceTemplate != "" {
				d.datasource = m.DatasourceTemplate
			}
			deps = append(deps, d)
		}
	}
	return deps
}

// TestRenovateConfig: the managers a maintainer expects, each custom manager well formed.
func TestRenovateConfig(t *testing.T) {
	c := readRenovate(t)
	if c.Schema != "https://docs.renovatebot.com/renovate-schema.json" {
		t.Errorf("$schema = %q, want Renovate's", c.Schema)
	}
	// enabledManagers turns off every manager it does not name; custom managers are named
	// custom.<customType>.
	want := []string{"gomod", "github-actions"}
	for _, m := range c.CustomManagers {
		want = append(want, "custom."+m.CustomType)
	}
	for _, m := range want {
		if !slices.Contains(c.EnabledManagers, m) {
			t.Errorf("enabledManagers = %v, want %s among them", c.EnabledManagers, m)
		}
	}
	if !slices.Contains(c.PostUpdateOptions, "gomodTidy") {
		t.Errorf("postUpdateOptions = %v, want gomodTidy: a module update can change go.sum beyond the module", c.PostUpdateOptions)
	}
	if len(c.CustomManagers) == 0 {
		t.Fatal("no customManagers: nothing updates the presets' container images")
	}
	for i, m := range c.CustomManagers {
		if m.CustomType != "regex" {
			t.Errorf("customManagers[%d].customType = %q, want regex", i, m.CustomType)
		}
		if len(m.ManagerFilePatterns) == 0 || len(m.MatchStrings) == 0 {
			t.Errorf("customManagers[%d]: want managerFilePatterns and matchStrings", i)
		}
		for _, s := range m.MatchStrings {
			re := compileRenovate(t, s)
			if re.SubexpIndex("currentValue") < 0 {
				t.Errorf("customManagers[%d]: matchString %q captures no currentValue", i, s)
			}
			if m.DepNameTemplate == "" && re.SubexpIndex("depName") < 0 {
				t.Errorf("customManagers[%d]: matchString %q captures no depName and there is no depNameTemplate", i, s)
			}
		}
		if m.DatasourceTemplate == "" {
			t.Errorf("customManagers[%d]: no datasourceTemplate", i)
		}
		// Templates are compared as they are written: a Handlebars one would need evaluating.
		for _, tmpl := range []string{m.DepNameTemplate, m.DatasourceTemplate, m.VersioningTemplate} {
			if strings.Contains(tmpl, "{{") {
				t.Errorf("customManagers[%d]: template %q: this test reads literal templates only", i, tmpl)
			}
		}
		if m.ExtractVersionTemplate != "" && compileRenovate(t, m.ExtractVersionTemplate).SubexpIndex("version") < 0 {
			t.Errorf("customManagers[%d]: extractVersionTemplate %q has no version group", i, m.ExtractVersionTemplate)
		}
	}
}

// presetImage is a string literal set to a field whose name ends in Image in stacks/presets.go.
type presetImage struct {
	value      string
	start, end int // offsets of the literal, quotes included
	line       int
}

// presetImages finds the image defaults in presets.go a second way, from its syntax: every
// composite-literal element `…Image: "…"` and every assignment `x.…Image = "…"`. A value that
// is a copy of another field (x.Image: s.Loki.Image) sets no new version and is skipped; any
// other non-literal value is an error, as the regex cannot see it.
func presetImages(t *testing.T, src []byte) []presetImage {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, presetsPath, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var images []presetImage
	add := func(field string, value ast.Expr) {
		if !strings.HasSuffix(field, "Image") {
			return
		}
		pos := fset.Position(value.Pos())
		switch v := value.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(v.Value)
			if v.Kind != token.STRING || err != nil {
				t.Errorf("%s: %s = %s: not a string literal", pos, field, v.Value)
				return
			}
			images = append(images, presetImage{value: s, start: pos.Offset, end: fset.Position(v.End()).Offset, line: pos.Line})
		case *ast.SelectorExpr:
		default:
			t.Errorf("%s: %s is set from an expression, not a string literal: Renovate's regex only sees literals", pos, field)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.KeyValueExpr:
			if k, ok := n.Key.(*ast.Ident); ok {
				add(k.Name, n.Value)
			}
		case *ast.AssignStmt:
			if len(n.Lhs) == len(n.Rhs) {
				for i, l := range n.Lhs {
					if s, ok := l.(*ast.SelectorExpr); ok {
						add(s.Sel.Name, n.Rhs[i])
					}
				}
			}
		}
		return true
	})
	return images
}

// runtimeImages are the values of every string field named *Image in every preset's Spec.
func runtimeImages() map[string]string {
	images := map[string]string{}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(path, v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if f.Type.Kind() == reflect.String && strings.HasSuffix(f.Name, "Image") {
					if s := v.Field(i).String(); s != "" {
						images[path+"."+f.Name] = s
					}
					continue
				}
				walk(path+"."+f.Name, v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(path+"["+strconv.Itoa(i)+"]", v.Index(i))
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(path+"["+it.Key().String()+"]", it.Value())
			}
		}
	}
	for name, preset := range stacks.Presets {
		walk(name, reflect.ValueOf(preset()))
	}
	return images
}

// TestRenovateUpdatesEveryPresetImage: the custom manager over stacks/presets.go extracts
// exactly the image defaults found in its syntax, each split into depName and tag as the
// registry reads the reference, and every image a preset yields at run time is one of them.
//
// It fails when an image default is added in a form the regex misses, for instance: a
// raw-string literal (Image: `grafana/loki:3.7.6`), a constant or concatenation
// (Image: lokiImage, Image: "grafana/loki:" + tag), a reference without a tag
// (Image: "grafana/loki", nothing to update), a default set outside presets.go (the run-time
// check), or a manager pattern that no longer selects stacks/presets.go. It cannot see a
// default split into fields not named *Image (Repository: "grafana/loki", Tag: "3.7.6").
func TestRenovateUpdatesEveryPresetImage(t *testing.T) {
	c := readRenovate(t)
	var managers []customManager
	for _, m := range c.CustomManagers {
		if slices.ContainsFunc(m.ManagerFilePatterns, func(p string) bool { return matchesFile(t, p, presetsPath) }) {
			managers = append(managers, m)
		}
	}
	if len(managers) != 1 {
		t.Fatalf("%d custom managers select %s, want one", len(managers), presetsPath)
	}
	m := managers[0]
	if m.DatasourceTemplate != "docker" || m.DepNameTemplate != "" {
		t.Errorf("%s's manager: datasourceTemplate %q, depNameTemplate %q; want docker, and depName captured", presetsPath, m.DatasourceTemplate, m.DepNameTemplate)
	}

	src, err := os.ReadFile(filepath.Join(root, presetsPath))
	if err != nil {
		t.Fatal(err)
	}
	deps := extract(t, m, presetsPath, src)
	images := presetImages(t, src)
	if len(images) == 0 {
		t.Fatalf("found no image literal in %s: the syntax walk is out of date", presetsPath)
	}
	used := make([]bool, len(deps))
	matched := map[string]bool{}
	for _, img := range images {
		named, err := reference.ParseNormalizedNamed(img.value)
		if err != nil {
			t.Errorf("%s:%d: %q: %v", presetsPath, img.line, img.value, err)
			continue
		}
		tagged, ok := named.(reference.Tagged)
		if !ok {
			t.Errorf("%s:%d: %q has no tag: Renovate has no version to update", presetsPath, img.line, img.value)
			continue
		}
		wantDigest := ""
		if d, ok := named.(reference.Digested); ok {
			wantDigest = d.Digest().String()
		}
		// The dependency whose depName starts inside this literal.
		i := slices.IndexFunc(deps, func(d renovateDep) bool { return d.depNameAt > img.start && d.depNameAt < img.end })
		if i < 0 {
			t.Errorf("%s:%d: image %q: no matchString of the custom manager matches it", presetsPath, img.line, img.value)
			continue
		}
		used[i] = true
		d := deps[i]
		if d.depName != reference.FamiliarName(named) || d.currentValue != tagged.Tag() || d.currentDigest != wantDigest {
			t.Errorf("%s:%d: image %q extracted as depName %q currentValue %q currentDigest %q, want %q %q %q",
				presetsPath, img.line, img.value, d.depName, d.currentValue, d.currentDigest, reference.FamiliarName(named), tagged.Tag(), wantDigest)
			continue
		}
		matched[img.value] = true
	}
	for i, d := range deps {
		if !used[i] {
			t.Errorf("%s: the regex also matches %q (offset %d), which is no image field's literal", presetsPath, src[d.start:d.end], d.start)
		}
	}
	for field, img := range runtimeImages() {
		if !matched[img] {
			t.Errorf("preset %s = %q: not a literal the custom manager updates in %s", field, img, presetsPath)
		}
	}
}

// goModRequires are the root go.mod's requirements, path to version, direct ones only if
// direct.
func goModRequires(t *testing.T, direct bool) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.Parse("go.mod", raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := map[string]string{}
	for _, r := range mod.Require {
		if !direct || !r.Indirect {
			req[r.Mod.Path] = r.Mod.Version
		}
	}
	return req
}

// customDeps runs every custom manager over the repository files it selects.
func customDeps(t *testing.T, c renovateConfig) map[int][]renovateDep {
	t.Helper()
	files := repoFiles(t)
	deps := map[int][]renovateDep{}
	for i, m := range c.CustomManagers {
		var selected []string
		for _, f := range files {
			if slices.ContainsFunc(m.ManagerFilePatterns, func(p string) bool { return matchesFile(t, p, f) }) {
				selected = append(selected, f)
			}
		}
		if len(selected) == 0 {
			t.Errorf("customManagers[%d] (%s): managerFilePatterns %v select no file", i, m.Description, m.ManagerFilePatterns)
		}
		for _, f := range selected {
			content, err := os.ReadFile(filepath.Join(root, f))
			if err != nil {
				t.Fatal(err)
			}
			found := extract(t, m, f, content)
			if len(found) == 0 {
				t.Errorf("customManagers[%d] (%s): no matchString matches %s", i, m.Description, f)
			}
			deps[i] = append(deps[i], found...)
		}
	}
	return deps
}

// TestRenovateCustomManagersFindTheirPins: each custom manager extracts a complete dependency
// from each file it selects, and the pins that must stay at a go.mod module's version are.
func TestRenovateCustomManagersFindTheirPins(t *testing.T) {
	c := readRenovate(t)
	req := goModRequires(t, false)
	// Pins that state a go.mod module's version (another spelling of it): same depName, so
	// Renovate updates them in the same branch as go.mod.
	sameAsGoMod := map[string]string{
		"github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring": "the CRDs installed are those of the typed API the program builds with",
		"github.com/pulumi/pulumi-random/sdk/v4":                                 "the random plugin stand-in reports the random SDK's version",
	}
	seen := map[string]bool{}
	for i, deps := range customDeps(t, c) {
		m := c.CustomManagers[i]
		for _, d := range deps {
			if d.depName == "" || d.currentValue == "" || d.datasource == "" {
				t.Errorf("%s: %+v: want depName, currentValue and datasource", d.file, d)
				continue
			}
			why, ok := sameAsGoMod[d.depName]
			if !ok {
				continue
			}
			seen[d.depName] = true
			want := req[d.depName]
			if m.ExtractVersionTemplate != "" {
				re := compileRenovate(t, m.ExtractVersionTemplate)
				if sm := re.FindStringSubmatch(want); sm != nil {
					want = sm[re.SubexpIndex("version")]
				}
			}
			if d.datasource != "go" || d.currentValue != want {
				t.Errorf("%s: %s at %s (datasource %s), want go.mod's %s: %s", d.file, d.depName, d.currentValue, d.datasource, want, why)
			}
		}
	}
	for dep := range sameAsGoMod {
		if !seen[dep] {
			t.Errorf("no custom manager extracts %s", dep)
		}
	}
}

// groupOf is the groupName the package rules give a dependency (the last matching rule that
// sets one wins, as in Renovate). matchPackageNames entries are read as exact names or
// prefix/** globs, case-insensitively as Renovate reads globs; other forms fail the test.
func groupOf(t *testing.T, rules []packageRule, datasource, name string) string {
	t.Helper()
	group := ""
	for _, r := range rules {
		if len(r.MatchDatasources) > 0 && !slices.Contains(r.MatchDatasources, datasource) {
			continue
		}
		if slices.ContainsFunc(r.MatchPackageNames, func(p string) bool {
			prefix, isPrefix := strings.CutSuffix(p, "/**")
			if strings.ContainsAny(prefix, "*?[]{}!") || strings.HasPrefix(p, "/") {
				t.Fatalf("matchPackageNames %q: this test reads exact names and prefix/** only", p)
			}
			if isPrefix {
				return len(name) > len(prefix) && strings.EqualFold(name[:len(prefix)+1], prefix+"/")
			}
			return strings.EqualFold(name, p)
		}) && r.GroupName != "" {
			group = r.GroupName
		}
	}
	return group
}

// TestRenovateGroups: Pulumi's modules (SDKs, providers, the CLI pin) move in one PR,
// k8s.io/kubernetes and its staging modules in another, and Loki with loki-canary, whose tag
// must be Loki's.
func TestRenovateGroups(t *testing.T) {
	c := readRenovate(t)
	type dep struct{ datasource, name string }
	var goDeps []dep
	for path := range goModRequires(t, true) {
		goDeps = append(goDeps, dep{"go", path})
	}
	for _, deps := range customDeps(t, c) {
		for _, d := range deps {
			if d.datasource == "go" {
				goDeps = append(goDeps, dep{"go", d.depName})
			}
		}
	}
	groups := map[string][]string{}
	for _, d := range goDeps {
		var want string
		switch {
		case strings.HasPrefix(d.name, "github.com/pulumi/"):
			want = "Pulumi"
		case strings.HasPrefix(d.name, "k8s.io/"):
			want = "Kubernetes"
		default:
			continue
		}
		groups[want] = append(groups[want], d.name)
		if got := groupOf(t, c.PackageRules, d.datasource, d.name); got != want {
			t.Errorf("%s: group %q, want %q", d.name, got, want)
		}
	}
	for _, want := range []string{"github.com/pulumi/pulumi/sdk/v3", "github.com/pulumi/pulumi/pkg/v3", "k8s.io/api", "k8s.io/kubernetes"} {
		if !slices.Contains(groups["Pulumi"], want) && !slices.Contains(groups["Kubernetes"], want) {
			t.Errorf("%s is neither in go.mod nor extracted by a custom manager", want)
		}
	}
	for _, name := range []string{"sigs.k8s.io/kwok", "github.com/prometheus/common"} {
		if g := groupOf(t, c.PackageRules, "go", name); g != "" {
			t.Errorf("%s: group %q, want none", name, g)
		}
	}
	loki, canary := groupOf(t, c.PackageRules, "docker", "grafana/loki"), groupOf(t, c.PackageRules, "docker", "grafana/loki-canary")
	if loki == "" || loki != canary {
		t.Errorf("grafana/loki in group %q, grafana/loki-canary in %q: want one group (the canary's tag must be Loki's)", loki, canary)
	}
}
