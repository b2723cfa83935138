package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// ParseOptions tunes Parse. The zero value parses data that came from no
// file, resolving relative paths against the current directory and reading
// the process environment and host name.
type ParseOptions struct {
	// Path is the file the data came from. It prefixes error messages, its
	// directory is the default working directory, and it is checked when
	// check_config_permissions is true. Empty: the data came from no file.
	Path string
	// Dir overrides the directory that working_directory defaults to and
	// resolves against. Empty: the directory of Path, or the current
	// directory when Path is empty too.
	Dir string
	// LookupEnv reads environment variables for {env: NAME} secrets.
	// Nil: os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// Hostname returns the host name the default agent_id derives from.
	// Nil: os.Hostname.
	Hostname func() (string, error)
}

// Load reads the configuration file at path, decodes it strictly, applies
// defaults, resolves relative paths and secrets, and validates it. Problems
// in the file are returned together as an *Error.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(data, ParseOptions{Path: abs})
}

// Parse is Load for data already in memory. Decoding problems (syntax,
// unknown or duplicate keys, wrong types) are reported first, all at once;
// when there are none, secret and validation problems are reported, all at
// once. Either way the error is an *Error.
func Parse(data []byte, opts ParseOptions) (*Config, error) {
	lookupEnv := opts.LookupEnv
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	getHostname := opts.Hostname
	if getHostname == nil {
		getHostname = os.Hostname
	}
	dir := opts.Dir
	if dir == "" && opts.Path != "" {
		dir = filepath.Dir(opts.Path)
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("parse config: %w", err)
		}
		dir = wd
	}

	root, syntax := parseYAML(data)
	if len(syntax) > 0 {
		return nil, &Error{File: opts.Path, Problems: syntax}
	}
	cfg := Default()
	d := decoder{ps: problems{lines: make(map[string]int)}}
	if root != nil {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	if d.nodes > maxNodes {
		return nil, d.ps.err(opts.Path)
	}
	cfg.file = opts.Path
	cfg.lines = d.ps.lines
	cfg.hashSyncFromDRSR = cfg.drsrImpliesHashSync()
	if cfg.hashSyncFromDRSR {
		cfg.PasswordHashSync.Enabled = true
	}

	hostname, err := getHostname()
	if err != nil {
		hostname = ""
	}
	if cfg.usesKerberos() && cfg.Kerberos.Krb5ConfigPath == "" {
		cfg.Kerberos.Krb5ConfigPath = DefaultKrb5ConfigPath
		if v, ok := lookupEnv("KRB5_CONFIG"); ok && v != "" {
			cfg.Kerberos.Krb5ConfigPath = v
		}
	}
	cfg.applyDerived(dir, hostname)

	// Every problem in one pass: the decoding problems, and those the
	// checks find in the keys that decoded (a key that did not decode is
	// not checked again).
	ps := problems{lines: cfg.lines}
	cfg.resolveSecrets(lookupEnv, &ps)
	cfg.validate(&ps)
	all := problems{lines: cfg.lines, list: d.ps.list}
	for _, p := range ps.list {
		if !relatedToAny(p.Key, d.ps.list) {
			all.list = append(all.list, p)
		}
	}
	if err := all.err(opts.Path); err != nil {
		return nil, err
	}
	return cfg, nil
}

// relatedToAny reports whether key is, contains or lies within the key of
// one of list.
func relatedToAny(key string, list []Problem) bool {
	for _, p := range list {
		if p.Key == "" || key == p.Key || strings.HasPrefix(key, p.Key+".") || strings.HasPrefix(key, p.Key+"[") ||
			strings.HasPrefix(p.Key, key+".") || strings.HasPrefix(p.Key, key+"[") {
			return true
		}
	}
	return false
}

// resolveSecrets reads every {file: ...} and {env: ...} secret.
func (c *Config) resolveSecrets(lookupEnv func(string) (string, bool), ps *problems) {
	c.IAMToken.resolve("iam_token", c.WorkingDirectory, lookupEnv, ps)
	c.LDAP.Password.resolve("ldap.password", c.WorkingDirectory, lookupEnv, ps)
	c.DRSR.Password.resolve("drsr.password", c.WorkingDirectory, lookupEnv, ps)
}

// checkPermissions reports every file holding configuration or secrets
// that is not private to the current user.
func (c *Config) checkPermissions(ps *problems) {
	const key = "check_config_permissions"
	if c.file != "" {
		if msg := checkPrivate(c.file); msg != "" {
			ps.add(key, "config file %s", msg)
		}
	}
	files := []struct{ key, path string }{
		{"iam_token", c.IAMToken.file},
		{"cloud_credentials_file_path", c.CloudCredentialsFilePath},
		{"ldap.password", c.LDAP.Password.file},
		{"ldap.certificate_path", c.LDAP.CertificatePath},
		{"drsr.password", c.DRSR.Password.file},
	}
	for _, f := range files {
		if f.path == "" || (f.key == "cloud_credentials_file_path" && c.Credentials() != CredentialsKeyFile) {
			continue
		}
		if msg := checkPrivate(f.path); msg != "" {
			ps.add(f.key, "%s (check_config_permissions is true)", msg)
		}
	}
}

// File returns the path of the file the configuration was loaded from, or
// "" when it was built in code or parsed from memory without a path.
func (c *Config) File() string { return c.file }

// maxFileSize bounds the files a configuration names (keys, certificates,
// secrets); they are all small.
const maxFileSize = 1 << 20

// readSmallFile reads a regular file of at most maxFileSize bytes.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// LoadStatePath reads from the file at path only what the read-only
// commands need: state_path, resolved as Load resolves it. Secrets are not
// resolved, file permissions are not checked, and problems in other keys
// are ignored; syntax errors and problems with state_path or
// working_directory are returned as an *Error.
func LoadStatePath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("load config: %w", err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return "", fmt.Errorf("load config: %w", err)
	}
	root, syntax := parseYAML(data)
	if len(syntax) > 0 {
		return "", &Error{File: abs, Problems: syntax}
	}
	cfg := Default()
	d := decoder{ps: problems{lines: make(map[string]int)}}
	if root != nil {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	var mine []Problem
	for _, p := range d.ps.list {
		if p.Key == "state_path" || p.Key == "working_directory" {
			mine = append(mine, p)
		}
	}
	if len(mine) > 0 {
		return "", &Error{File: abs, Problems: mine}
	}
	cfg.applyDerived(filepath.Dir(abs), "")
	return cfg.StatePath, nil
}

// drsrImpliesHashSync reports whether a drsr section with at least one key
// turns password hash synchronization on, as it does in the Yandex agent:
// only when the file does not say password_hash_sync.enabled itself.
func (c *Config) drsrImpliesHashSync() bool {
	if _, explicit := c.lines["password_hash_sync.enabled"]; explicit {
		return false
	}
	for k := range c.lines {
		if strings.HasPrefix(k, "drsr.") {
			return true
		}
	}
	return false
}

// HashSyncFromDRSR reports whether password hash synchronization is on
// because the file has a drsr section and no password_hash_sync.enabled.
func (c *Config) HashSyncFromDRSR() bool { return c.hashSyncFromDRSR }

// hashSyncReason says why password hash synchronization is on, for
// messages about what it requires.
func (c *Config) hashSyncReason() string {
	if c.hashSyncFromDRSR {
		return "a drsr section turns password hash synchronization on (set password_hash_sync.enabled: false to turn it off)"
	}
	return "password_hash_sync.enabled is true"
}
