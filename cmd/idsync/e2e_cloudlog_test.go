package main

import (
	"os"
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/emulator"
)

// TestE2ECloudLogging syncs with logger.cloud_logger set and reads the log
// entries back from the emulator's LogIngestionService: they carry the
// agent_id and no secret. With the logging endpoint unreachable the sync
// still succeeds and says entries were dropped.
func TestE2ECloudLogging(t *testing.T) {
	e := newE2E(t, "e2e-cloudlog", emulator.Options{}, "logger:\n  cloud_logger: {log_group_id: e23logs00000000000001}\n")
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	write := func(logging string) {
		cfg := strings.Replace(string(raw), "  operation: "+e.addr+"\n", "  operation: "+e.addr+"\n  logging: "+logging+"\n", 1)
		if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(e.addr)
	e.mustRun(exitOK, "sync", "--full")
	entries := e.emu.LogEntries()
	if len(entries) == 0 {
		t.Fatal("no log entries reached Cloud Logging")
	}
	levels := map[string]bool{}
	for _, en := range entries {
		levels[en.Level] = true
		if en.LogGroupID != "e23logs00000000000001" || !strings.Contains(en.Payload, `"agent_id":"e2e-agent"`) || en.ResourceID != "e2e-agent" {
			t.Errorf("entry %+v: wrong log group or no agent_id", en)
		}
		for _, secret := range []string{e.dc.Password, e2eToken} {
			if strings.Contains(en.Message+en.Payload, secret) {
				t.Fatalf("a secret reached Cloud Logging: %+v", en)
			}
		}
		if en.Level == "DEBUG" {
			t.Errorf("debug entry sent at level info: %+v", en)
		}
	}
	if !levels["INFO"] {
		t.Errorf("no info entries: %v", levels)
	}

	write("127.0.0.1:1")
	_, errOut, code := e.run("sync")
	if code != exitOK || !strings.Contains(errOut, "cloud logging") || !strings.Contains(errOut, "dropped") {
		t.Errorf("sync with Cloud Logging unreachable: exit %d\n%s", code, errOut)
	}
}
