package main

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/idsync/idsync/internal/config"
)

// blockedPath returns the file whose ownership or permissions stopped the
// command: the file of a permission error, or the config file when
// check_config_permissions refused it. "" when neither did.
func blockedPath(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(err, fs.ErrPermission) {
		return pe.Path
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			if p.Key == "check_config_permissions" && strings.Contains(p.Msg, "owned by") {
				return ce.File
			}
		}
	}
	return ""
}

// quoteArgs writes args for a shell, quoting those that need it.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'\\$&|;<>()*?`#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
