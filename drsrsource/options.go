package drsrsource

import (
	"fmt"
	"io"
)

// String describes the options without the password.
func (o Options) String() string {
	pw := ""
	if o.Password != "" {
		pw = "<secret>"
	}
	return fmt.Sprintf("drsrsource.Options{Host:%s TargetName:%s Username:%s Domain:%s Password:%s BaseDN:%s Scope:%q PageObjects:%d Timeout:%s}",
		o.Host, o.TargetName, o.Username, o.Domain, pw, o.BaseDN, o.Scope, o.PageObjects, o.Timeout)
}

// GoString is String, so %#v hides the password too.
func (o Options) GoString() string { return o.String() }

// Format prints String for every verb: a verb fmt would otherwise apply
// field by field (%d, %x) never reaches the password.
func (o Options) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, o.String()) }

// MarshalText is String, so JSON, YAML and structured logs hide the
// password as well.
func (o Options) MarshalText() ([]byte, error) { return []byte(o.String()), nil }
