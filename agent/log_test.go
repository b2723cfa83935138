package agent

import (
	"context"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestLoopLoggersNamedOnce(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	root := zap.New(core)
	r := newPwRig(t)
	pw, err := NewPasswordSync(PasswordOptions{AgentID: "a", Cloud: r.cloud, Store: r.store, Logger: root,
		NewSource: func(context.Context) (HashSource, error) { return r.src, nil }})
	if err != nil {
		t.Fatal(err)
	}
	pw.log.Info("p")
	named(root, "").Info("a")
	named(nil, "x").Info("dropped")
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.LoggerName)
	}
	if len(got) != 2 || got[0] != "agent.passwords" || got[1] != "agent" {
		t.Errorf("logger names %q; want [agent.passwords agent]", got)
	}
}
