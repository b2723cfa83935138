package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const examplePath = "../../config.example.yaml"

// TestExampleConfig loads config.example.yaml (with testdata as its
// working directory, for the key file) and checks that every value it
// writes out is the default, apart from the required example values.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	td := testdataDir(t)
	got, err := Parse(data, ParseOptions{
		Dir:       td,
		LookupEnv: func(name string) (string, bool) { v, ok := goodEnv[name]; return v, ok },
		Hostname:  func() (string, error) { return "dc-sync-01", nil },
	})
	if err != nil {
		t.Fatalf("config.example.yaml does not load: %v", err)
	}
	want := Default()
	want.UserpoolID = "ek0o6pgq1ai5tlcgghh1"
	want.AgentID = "idsync-dc-sync-01"
	want.WorkingDirectory = td
	want.CloudCredentialsFilePath = filepath.Join(td, "authorized_key.json")
	want.StatePath = filepath.Join(td, "state")
	want.LDAP.Host = "ldaps://dc1.example.com:636"
	want.LDAP.Username = "svc-idsync@example.com"
	want.LDAP.Password = Secret{value: "ldap-secret", env: "IDSYNC_LDAP_PASSWORD"}
	want.LDAP.BaseDN = "DC=example,DC=com"
	want.SyncSettings.Present = true
	want.SyncSettings.Filter.Domain = "example.com"
	want.Schedule = "@every 4m0s"
	want.Metrics.HealthyAfter = time.Hour
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("config.example.yaml differs from the defaults (-want +got):\n%s", diff)
	}
	if w := got.Warnings(); len(w) != 0 {
		t.Errorf("config.example.yaml has warnings: %v", w)
	}
}

// TestExampleDocumentsEveryKey checks that every key of Config appears in
// config.example.yaml, written or commented out.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	var walk func(typ reflect.Type, prefix string)
	walk = func(typ reflect.Type, prefix string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || tag == "" || tag == "-" {
				continue
			}
			if !strings.Contains(text, tag+":") {
				t.Errorf("config.example.yaml does not document %s%s", prefix, tag)
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != secretType {
				walk(ft, prefix+tag+".")
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
}
