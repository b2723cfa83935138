//go:build !windows

package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runAsHint says how to run the command when a file's ownership or
// permissions stopped it: as the file's owner, with runuser (as root).
func runAsHint(err error, args []string) string {
	path := blockedPath(err)
	if path == "" {
		return ""
	}
	uid, ok := ownerOf(path)
	if !ok {
		return ""
	}
	if uid == os.Getuid() {
		return fmt.Sprintf("hint: %s is yours but not readable; make it readable for its owner only: chmod u+rw,go= %s", path, path)
	}
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return fmt.Sprintf("hint: %s belongs to %s; run the command as that user (as root):\n  runuser -u %s -- idsync %s", path, name, name, quoteArgs(args))
}

// ownerOf returns the owner of path, or of its nearest existing parent.
func ownerOf(path string) (int, bool) {
	for p := path; ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				return int(st.Uid), true
			}
			return 0, false
		}
		if p == filepath.Dir(p) {
			return 0, false
		}
	}
}
