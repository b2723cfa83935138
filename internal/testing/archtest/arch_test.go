// Package archtest keeps the layering described in ARCHITECTURE.md: the
// source side and the cloud side never import each other, and the neutral
// model does no I/O. Only the agent (and cmd) sees both sides.
package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/idsync/idsync"

// rules maps a package to import paths (or prefixes ending in "/") it must
// never depend on, directly or transitively.
var rules = map[string][]string{
	module + "/ldapsource": {
		module + "/internal/idhub", module + "/internal/emulator", module + "/agent",
		"google.golang.org/grpc", "github.com/yandex-cloud/go-genproto/",
	},
	module + "/drsrsource": {
		module + "/internal/idhub", module + "/internal/emulator", module + "/agent", module + "/ldapsource",
		"github.com/yandex-cloud/go-genproto/",
	},
	module + "/internal/idhub": {
		module + "/ldapsource", module + "/agent", module + "/internal/emulator",
		"github.com/go-ldap/ldap/v3",
	},
	module + "/internal/emulator": {
		module + "/ldapsource", module + "/agent", module + "/internal/idhub",
		"github.com/go-ldap/ldap/v3",
	},
	module + "/internal/directory": {
		"net", "net/http", "github.com/go-ldap/ldap/v3", "google.golang.org/grpc",
	},
}

type pkg struct {
	ImportPath string
	Deps       []string
}

func TestLayers(t *testing.T) {
	for p, forbidden := range rules {
		out, err := exec.Command("go", "list", "-json", "-deps=false", p).Output()
		if err != nil {
			// The package may not exist yet in a partial tree; that is a
			// failure too, because the rules name real packages.
			t.Errorf("go list %s: %v", p, err)
			continue
		}
		var info pkg
		if err := json.Unmarshal(out, &info); err != nil {
			t.Fatalf("decode go list output for %s: %v", p, err)
		}
		if len(info.Deps) == 0 {
			t.Errorf("go list reported no dependencies for %s; the check would pass vacuously", p)
		}
		for _, dep := range info.Deps {
			for _, f := range forbidden {
				if dep == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
					t.Errorf("%s depends on %s, which the architecture forbids", p, dep)
				}
			}
		}
	}
}
