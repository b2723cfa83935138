//go:build unix

package config

import (
	"fmt"
	"os"
	"syscall"
)

// permissionsChecked reports whether checkPrivate does anything on this
// platform.
const permissionsChecked = true

// checkPrivate returns why the file at path is not private to the current
// user (owned by it, no access for group or others), or "" when it is. A
// file that cannot be read is reported elsewhere and passes here.
func checkPrivate(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Sprintf("%s is owned by uid %d, not by the current user (uid %d)", path, st.Uid, os.Getuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Sprintf("%s has mode %04o; group and others must have no access (chmod 600)", path, perm)
	}
	return ""
}
