package main

import (
	"fmt"
	"strings"
)

// runAsHint says how to run the command when a file's permissions stopped
// it: from an elevated prompt, or as the service's account.
func runAsHint(err error, args []string) string {
	path := blockedPath(err)
	if path == "" {
		return ""
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t") {
			a = `\"` + a + `\"`
		}
		quoted[i] = a
	}
	return fmt.Sprintf("hint: your account cannot read %s; run the command in an elevated prompt (Run as administrator), or as the account the service runs as:\n  runas /user:DOMAIN\\svc-idsync \"idsync.exe %s\"", path, strings.Join(quoted, " "))
}
