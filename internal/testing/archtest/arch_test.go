// Package archtest keeps the layering described in ARCHITECTURE.md: the
// source side (ldapsource, drsrsource) and the cloud side (internal/idhub,
// go-genproto) never import each other or the engine, only agent and cmd see
// both sides, the engine speaks neither go-genproto, protobuf nor gRPC, the
// local state does not pull in gRPC, and the planner is pure.
package archtest

import (
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/idsync/idsync"

// Import paths, or prefixes when they end in "/", that the rules name.
const (
	agent      = module + "/agent"
	ldapsource = module + "/ldapsource"
	drsrsource = module + "/drsrsource"
	idhub      = module + "/internal/idhub"
	emulator   = module + "/internal/emulator"
	directory  = module + "/internal/directory"
	poolmodel  = module + "/internal/pool"
	state      = module + "/internal/state"
	reporter   = module + "/reporter"
	genproto   = "github.com/yandex-cloud/go-genproto/"
	grpc       = "google.golang.org/grpc"
	protobuf   = "google.golang.org/protobuf/"
	googleapis = "google.golang.org/genproto/"
	goldap     = "github.com/go-ldap/ldap/v3"
)

// layers are the forbidden dependencies, direct or through other packages.
var layers = []struct {
	pkg    string
	never  []string
	reason string
}{
	{ldapsource, []string{idhub, emulator, drsrsource, agent, genproto, grpc},
		"the LDAP reader knows nothing about the cloud, the DRSR reader or the engine"},
	{drsrsource, []string{idhub, emulator, ldapsource, agent, genproto},
		"the DRSR reader knows nothing about the cloud, the LDAP reader or the engine"},
	{idhub, []string{ldapsource, drsrsource, agent, emulator, goldap},
		"the Identity Hub client knows nothing about the directory readers or the engine"},
	{emulator, []string{ldapsource, drsrsource, agent, idhub, goldap},
		"the emulator stands alone, as the real service does"},
	{directory, []string{"net", "net/http", goldap, grpc, genproto},
		"the neutral model does no I/O and belongs to neither side"},
	{state, []string{reporter, grpc, genproto},
		"the local state owns the job record schema and does not pull in gRPC"},
	{agent, []string{ldapsource, drsrsource},
		"the engine reads the directory through its Source and HashSource interfaces, in the neutral model"},
	{agent, []string{genproto, googleapis, protobuf, grpc, idhub},
		"the engine speaks to Identity Hub in the pool model (internal/pool); idhub.Cloud converts to and from the API's messages"},
	{poolmodel, []string{"net", "net/http", goldap, grpc, genproto, googleapis, protobuf},
		"the pool model is plain Go types: no I/O, no API messages"},
}

// moduleImports limits which packages of this module a package imports
// directly.
var moduleImports = []struct {
	pkg     string
	allowed []string
	reason  string
}{
	{idhub, []string{directory, poolmodel},
		"the Identity Hub client converts between go-genproto and the neutral and pool models, nothing more"},
	{drsrsource, []string{directory},
		"the DRSR reader speaks the neutral model and needs nothing else of this module"},
}

// bothSides are the packages that may depend on the source side and the
// cloud side at once: the engine, the binaries, and the test infrastructure
// that drives both.
var bothSides = []string{agent, module + "/cmd/", module + "/internal/testing/", module + "/internal/bench", module + "/chaos"}

var (
	sourceSide = []string{ldapsource, drsrsource}
	cloudSide  = []string{idhub, emulator, genproto, grpc}
)

// planner lists the files of agent that make the plan. They import only the
// standard library and the neutral model, so the plan is a pure function of
// its inputs.
var planner = []string{"plan.go", "plan_groups.go", "groupname.go", "translit.go", "safety.go", "guards.go", "usermap.go", "target.go"}

// plannerMayImport is what a planner file may import besides the standard
// library.
var plannerMayImport = []string{directory}

type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	Deps       []string
}

// listModule returns every package of the module, keyed by import path.
func listModule(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// matches reports whether path is one of the rule paths (a prefix when the
// rule ends in "/", the package or its subpackages otherwise).
func matches(path string, rules []string) bool {
	for _, r := range rules {
		if strings.HasSuffix(r, "/") && strings.HasPrefix(path, r) || path == r || strings.HasPrefix(path, r+"/") {
			return true
		}
	}
	return false
}

func find(t *testing.T, pkgs map[string]pkg, path string) pkg {
	t.Helper()
	p, ok := pkgs[path]
	if !ok {
		t.Fatalf("package %s is not in the module; the rules name real packages", path)
	}
	if len(p.Deps) == 0 {
		t.Fatalf("go list reported no dependencies for %s; the check would pass vacuously", path)
	}
	return p
}

func TestLayers(t *testing.T) {
	pkgs := listModule(t)
	for _, r := range layers {
		p := find(t, pkgs, r.pkg)
		for _, never := range r.never {
			for _, dep := range p.Deps {
				if matches(dep, []string{never}) {
					t.Errorf("%s depends on %s: %s", r.pkg, dep, r.reason)
					break // one line per rule broken
				}
			}
		}
	}
}

func TestModuleImports(t *testing.T) {
	pkgs := listModule(t)
	for _, r := range moduleImports {
		p := find(t, pkgs, r.pkg)
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/") && !matches(imp, r.allowed) {
				t.Errorf("%s imports %s: %s", r.pkg, imp, r.reason)
			}
		}
	}
}

func TestOnlyAgentAndCmdSeeBothSides(t *testing.T) {
	pkgs := listModule(t)
	for path, p := range pkgs {
		if matches(path, bothSides) {
			continue
		}
		var src, cloud string
		for _, dep := range p.Deps {
			if src == "" && matches(dep, sourceSide) {
				src = dep
			}
			if cloud == "" && matches(dep, cloudSide) {
				cloud = dep
			}
		}
		if src != "" && cloud != "" {
			t.Errorf("%s depends on the source side (%s) and the cloud side (%s); only agent and cmd may", path, src, cloud)
		}
	}
	if _, ok := pkgs[agent]; !ok {
		t.Fatalf("package %s not listed; the check would pass vacuously", agent)
	}
}

func TestPlannerIsPure(t *testing.T) {
	dir := find(t, listModule(t), agent).Dir
	for _, name := range planner {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			t.Errorf("planner file agent/%s: %v", name, err)
			continue
		}
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				t.Fatalf("agent/%s: import %s: %v", name, spec.Path.Value, err)
			}
			if !standard(imp) && !matches(imp, plannerMayImport) {
				t.Errorf("planner file agent/%s imports %s; the planner imports only the standard library and %s", name, imp, directory)
			}
		}
	}
}

// standard reports whether an import path is in the standard library: its
// first element has no dot.
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
