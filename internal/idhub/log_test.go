package idhub

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestClientNamesItsLoggerOnce(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	c, err := New(Options{UserpoolID: "p", StaticToken: "x", Plaintext: true, Logger: zap.New(core),
		OrganizationManagerEndpoint: "passthrough:///x", OperationEndpoint: "passthrough:///x"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.log.Info("x")
	if all := logs.FilterMessage("x").All(); len(all) != 1 || all[0].LoggerName != "idhub" {
		t.Errorf("client logs as %+v; want the logger named idhub", all)
	}
}
