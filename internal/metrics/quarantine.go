package metrics

import "fmt"

// quarantineDetail is the /healthz note on quarantined objects: they do
// not make the daemon unhealthy, but someone should look at them.
func quarantineDetail(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d objects quarantined (see 'idsync jobs quarantine')", n)
}
