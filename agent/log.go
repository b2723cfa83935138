package agent

import "go.uber.org/zap"

// named returns the logger of the engine or of one of its loops: "agent",
// or "agent.<loop>", under the logger the caller passed (a no-op logger for
// nil). The engine's loggers are named here only.
func named(l *zap.Logger, loop string) *zap.Logger {
	if l == nil {
		return zap.NewNop()
	}
	l = l.Named("agent")
	if loop != "" {
		l = l.Named(loop)
	}
	return l
}
