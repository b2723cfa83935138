//go:build !unix

package config

// permissionsChecked reports whether checkPrivate does anything on this
// platform. On Windows, ACLs are not checked yet.
const permissionsChecked = false

// checkPrivate accepts every file: file permissions are not checked on
// this platform yet.
func checkPrivate(string) string { return "" }
