package ldapsource

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

const modulePath = "github.com/idsync/idsync"

// TestNoCloudImports fails if ldapsource depends, directly or through other
// packages of this module, on the cloud side or the engine.
func TestNoCloudImports(t *testing.T) {
	forbidden := []string{modulePath + "/internal/idhub", modulePath + "/internal/emulator", modulePath + "/agent",
		"github.com/yandex-cloud/go-genproto", "google.golang.org/grpc"}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var visit func(path string, chain []string)
	visit = func(path string, chain []string) {
		if seen[path] {
			return
		}
		seen[path] = true
		dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(path, modulePath)))
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		for _, imp := range pkg.Imports {
			for _, f := range forbidden {
				if imp == f || strings.HasPrefix(imp, f+"/") {
					t.Errorf("%s imports %s (via %s)", path, imp, strings.Join(append(chain, path), " -> "))
				}
			}
			if strings.HasPrefix(imp, modulePath+"/") {
				visit(imp, append(chain, path))
			}
		}
	}
	visit(modulePath+"/ldapsource", nil)
	if !seen[modulePath+"/internal/directory"] {
		t.Fatal("walk did not reach internal/directory; the check would pass vacuously")
	}
}
