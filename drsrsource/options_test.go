package drsrsource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestOptionsHidePassword(t *testing.T) {
	const pw = "Very-Secret-1"
	o := Options{Host: "dc1", Username: "svc", Password: pw, BaseDN: "DC=corp,DC=test", Scope: []string{"OU=Staff"}}
	var printed []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"} {
		printed = append(printed, fmt.Sprintf(verb, o), fmt.Sprintf(verb, &o))
	}
	printed = append(printed, o.String(), o.GoString(), fmt.Sprint(o), fmt.Sprintln(&o))
	js, err := json.Marshal(struct{ O Options }{o})
	if err != nil {
		t.Fatal(err)
	}
	printed = append(printed, string(js))
	var sl bytes.Buffer
	slog.New(slog.NewJSONHandler(&sl, nil)).Info("dial", "opts", o)
	slog.New(slog.NewTextHandler(&sl, nil)).Info("dial", "opts", o)
	printed = append(printed, sl.String())
	core, logs := observer.New(zapcore.InfoLevel)
	zap.New(core).Info("dial", zap.Any("opts", o), zap.Stringer("opts2", o))
	for _, e := range logs.All() {
		printed = append(printed, fmt.Sprint(e.ContextMap()))
	}
	for _, s := range printed {
		if strings.Contains(s, pw) || strings.Contains(s, fmt.Sprintf("%x", pw)) || !strings.Contains(s, "secret") {
			t.Errorf("options print as %q", s)
		}
		if !strings.Contains(s, "dc1") {
			t.Errorf("options print without the host: %q", s)
		}
	}
}
