package main

import (
	"os"
	"strings"
	"testing"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/emulator"
)

func TestE2ECheck(t *testing.T) {
	e := newE2E(t, "e2e-check", emulator.Options{}, "")
	out := e.mustRun(exitOK, "check")
	for _, want := range []string{"[ok  ] config", "user pool " + e2ePool, "TLS 1.", "bound as", "all checks passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	// A wrong LDAP password: the directory check fails, the rest still runs.
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(raw), "{env: IDSYNC_E2E_LDAP_PASSWORD}", "not-the-password", 1)
	if err := os.WriteFile(e.config, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code := e.run("check")
	if code != exitFailed || !strings.Contains(out, "[FAIL] directory") || !strings.Contains(out, "[ok  ] identity hub") {
		t.Errorf("check with a wrong LDAP password: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "not-the-password") {
		t.Error("check printed the LDAP password")
	}

	// A mapping source Identity Hub does not support: check reports it as
	// a sync would, before pushing the settings.
	badMap := strings.Replace(string(raw), "sync_settings:\n", "sync_settings:\n  group_attribute_mapping:\n    - {source: \"cn\", target: \"Name\", type: \"direct\"}\n", 1)
	if err := os.WriteFile(e.config, []byte(badMap), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code = e.run("check")
	want := (&agent.MappingError{Key: "sync_settings.group_attribute_mapping", Target: "Name", Source: "cn", Supported: []string{"name"}}).Error()
	if code != exitFailed || !strings.Contains(out, "[FAIL] identity hub "+want) || !strings.Contains(out, "[ok  ] directory") {
		t.Errorf("check with an unsupported mapping source: exit %d, want the line %q\n%s", code, want, out)
	}

	// A pool the credentials cannot reach.
	if err := os.WriteFile(e.config, []byte(strings.Replace(string(raw), "userpool_id: "+e2ePool, "userpool_id: no-such-pool", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code = e.run("check")
	if code != exitFailed || !strings.Contains(out, "[FAIL] identity hub user pool no-such-pool") {
		t.Errorf("check with an unknown pool: exit %d\n%s", code, out)
	}

	// A broken config is a usage error naming the key and line.
	if err := os.WriteFile(e.config, []byte(string(raw)+"\nunknown_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := e.run("check")
	if code != exitUsage || !strings.Contains(errOut, "unknown_key") || !strings.Contains(errOut, "line ") {
		t.Errorf("check with a broken config: exit %d\n%s", code, errOut)
	}
}
