package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// serviceUnitName is the systemd unit of the service, or its init script's
// name without systemd.
func serviceUnitName(name, platform string) string {
	if platform != "linux-systemd" {
		return name
	}
	return name + ".service"
}

// installedService reads the unit `idsync service install` writes, or the
// packaged one. It returns nil when neither exists, or without systemd.
func installedService(name, platform string) (*serviceDefinition, error) {
	if platform != "linux-systemd" {
		return nil, nil
	}
	return readUnit(append([]string{"/etc/systemd/system/" + serviceUnitName(name, platform)}, packagedUnits...))
}

// readUnit parses the first of paths that exists.
func readUnit(paths []string) (*serviceDefinition, error) {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read the unit: %w", err)
		}
		d := parseUnit(string(b))
		d.Where = p
		return &d, nil
	}
	return nil, nil
}

// parseUnit takes ExecStart and User from a systemd unit; with no User=, a
// system unit runs as root.
func parseUnit(unit string) serviceDefinition {
	d := serviceDefinition{Account: "root"}
	for _, line := range strings.Split(unit, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "ExecStart":
			d.Command = splitUnitCommand(strings.TrimSpace(v))
		case "User":
			d.Account = strings.TrimSpace(v)
		}
	}
	return d
}

// splitUnitCommand splits a unit's command line into words, honouring
// double and single quotes and backslash escapes as systemd does.
func splitUnitCommand(s string) []string {
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	for i := 0; i < len(s); i++ {
		c := rune(s[i])
		switch {
		case c == '\\' && strings.HasPrefix(s[i:], `\x`) && len(s) >= i+4:
			// kardianos/service writes a space in the binary's path as \x20.
			if b, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				cur.WriteByte(byte(b))
				i += 3
				in = true
				continue
			}
			cur.WriteByte('x')
			i++
			in = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			in = true
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
