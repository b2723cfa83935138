package main

import (
	"os"
	"runtime/debug"
)

// softMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT
// does not set one. Reading a directory makes much short-lived garbage
// (the LDAP decoder copies each entry several times), and with the
// default GOGC of 100 the heap grows to twice what is live: a W100k full
// sync, about 180 MB live at its peak, reached 456 MiB. Under the limit
// the collector runs more often once the heap nears it instead, which
// costs some CPU only in runs that get there; a smaller directory never
// does. When more than the limit is live the runtime caps the collector's
// share of CPU, so a larger directory is slower, never stopped.
const softMemoryLimit = 200 << 20

// setMemoryLimit applies softMemoryLimit unless GOMEMLIMIT is set (the
// runtime honours that itself, and it is how an operator changes the
// limit). It returns the limit in force.
func setMemoryLimit() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	debug.SetMemoryLimit(softMemoryLimit)
	return softMemoryLimit
}
