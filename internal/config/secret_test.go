package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	yaml "go.yaml.in/yaml/v3"
)

const secretValue = "hunter2-very-secret"

// renderings returns every way a secret s (directly and inside a Config)
// can be printed or encoded, by name.
func renderings(t *testing.T, s Secret) map[string]string {
	t.Helper()
	out := make(map[string]string)
	cfg := Default()
	cfg.LDAP.Password = s
	cfg.IAMToken = s
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		out["fmt "+verb] = fmt.Sprintf(verb, s)
		out["fmt "+verb+" pointer"] = fmt.Sprintf(verb, &s)
		out["fmt "+verb+" config"] = fmt.Sprintf(verb, cfg)
		out["fmt "+verb+" in slice"] = fmt.Sprintf(verb, []Secret{s})
	}
	out["String"] = s.String()
	out["GoString"] = s.GoString()
	out["fmt Sprint"] = fmt.Sprint(s)
	out["fmt Sprintln"] = fmt.Sprintln(s, &s)

	for name, v := range map[string]any{"secret": s, "config": cfg, "map": map[string]Secret{"k": s}} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json %s: %v", name, err)
		}
		out["json "+name] = string(j)
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatalf("yaml %s: %v", name, err)
		}
		out["yaml "+name] = string(y)
	}
	red, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	out["Redacted"] = string(red)

	var zbuf bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(&zbuf), zapcore.DebugLevel))
	log.Info("secret", zap.Any("any", s), zap.Stringer("stringer", s), zap.Reflect("reflect", s),
		zap.Any("ptr", &s), zap.Any("config", cfg), zap.Reflect("config_reflect", cfg))
	out["zap json"] = zbuf.String()

	var sbuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&sbuf, nil)).Info("secret", "s", s, "cfg", cfg)
	out["slog json"] = sbuf.String()
	return out
}

// TestSecretNeverPrints checks that no format reveals a secret's value,
// whether it came from a literal, a file or an environment variable.
func TestSecretNeverPrints(t *testing.T) {
	secrets := map[string]Secret{
		"literal": NewSecret(secretValue),
		"file":    {value: secretValue, file: "/etc/idsync/ldap-password"},
		"env":     {value: secretValue, env: "LDAP_PASSWORD"},
	}
	for name, s := range secrets {
		t.Run(name, func(t *testing.T) {
			for how, text := range renderings(t, s) {
				// encoding/json escapes < and > as \u003c and \u003e.
				text = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(text)
				if strings.Contains(text, secretValue) || strings.Contains(text, fmt.Sprintf("%x", secretValue)) {
					t.Errorf("%s reveals the secret: %s", how, text)
				}
				if how != "fmt %T" && how != "fmt %T pointer" && how != "fmt %T config" && how != "fmt %T in slice" &&
					!strings.Contains(text, redacted) {
					t.Errorf("%s does not show %s: %s", how, redacted, text)
				}
			}
		})
	}
}

// TestSecretForms checks the three YAML forms and Value.
func TestSecretForms(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Secret
		wantErr string
	}{
		{"literal", `s: plain`, NewSecret("plain"), ""},
		{"number literal", `s: 12345`, NewSecret("12345"), ""},
		{"file", `s: {file: /run/secrets/pw}`, Secret{file: "/run/secrets/pw"}, ""},
		{"env", `s: {env: PW}`, Secret{env: "PW"}, ""},
		{"null", `s: ~`, Secret{}, ""},
		{"both", `s: {file: a, env: B}`, Secret{}, "decode secret: line 1: secret: a secret mapping takes exactly one of file or env"},
		{"list", `s: [a]`, Secret{}, "decode secret: line 1: secret: expected a string, {file: PATH} or {env: NAME}"},
		{"empty env", `s: {env: ""}`, Secret{}, "decode secret: line 1: secret.env: expected a non-empty string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				S Secret `yaml:"s"`
			}
			err := yaml.Unmarshal([]byte(tt.yaml), &v)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if !strings.Contains(gotErr, tt.wantErr) || (tt.wantErr == "") != (err == nil) {
				t.Fatalf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if err == nil && !v.S.Equal(tt.want) {
				t.Errorf("secret = {value set: %t, file %q, env %q}, want file %q env %q",
					v.S.Value() != "", v.S.File(), v.S.Env(), tt.want.File(), tt.want.Env())
			}
		})
	}
	if got := NewSecret("x").Value(); got != "x" {
		t.Errorf("Value() = %q, want x", got)
	}
	if !(Secret{}).IsZero() || NewSecret("x").IsZero() || (Secret{env: "A"}).IsZero() {
		t.Error("IsZero is wrong")
	}
}

// TestEmptySecretPrintsEmpty checks that an unset secret shows as empty,
// so that printed configurations tell set from unset.
func TestEmptySecretPrintsEmpty(t *testing.T) {
	var s Secret
	got := []string{fmt.Sprint(s), fmt.Sprintf("%q", s), s.GoString()}
	j, _ := json.Marshal(s)
	got = append(got, string(j))
	want := []string{"", `""`, `""`, `""`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
