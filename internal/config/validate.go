package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
)

// ParseSchedule parses Config.Schedule: five or six fields (seconds
// optional) or a descriptor such as "@every 10m", optionally after a time
// zone ("CRON_TZ=Europe/Moscow 0 3 * * *"). The scheduler must use it.
//
// robfig/cron's parser panics on a time zone with nothing after it
// ("CRON_TZ=UTC"); that, and any other panic in it, is an error here.
func ParseSchedule(spec string) (sched cron.Schedule, err error) {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		if !strings.Contains(spec, " ") {
			return nil, errors.New("a time zone must be followed by a space and a schedule")
		}
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("cannot parse: %v", r)
		}
	}()
	return scheduleParser.Parse(spec)
}

var scheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var agentIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Credentials says where IAM tokens come from.
type Credentials int

// Credential sources, see (*Config).Credentials.
const (
	CredentialsNone     Credentials = iota // nothing configured (invalid)
	CredentialsKeyFile                     // cloud_credentials_file_path
	CredentialsMetadata                    // use_metadata_service
	CredentialsIAMToken                    // iam_token
)

// Credentials returns the credential source in effect: iam_token if set,
// else the metadata service if use_metadata_service is true (ignoring a key
// file, as the Yandex agent does), else the key file.
func (c *Config) Credentials() Credentials {
	switch {
	case !c.IAMToken.IsZero():
		return CredentialsIAMToken
	case c.UseMetadataService:
		return CredentialsMetadata
	case c.CloudCredentialsFilePath != "":
		return CredentialsKeyFile
	default:
		return CredentialsNone
	}
}

// Validate checks the configuration and returns an *Error listing every
// problem, or nil. It reads the files the configuration names (key file,
// CA certificates) to check that they are usable. Parse calls it; call it
// again after changing a Config.
func (c *Config) Validate() error {
	ps := problems{lines: c.lines}
	c.validate(&ps)
	return ps.err(c.file)
}

func (c *Config) validate(ps *problems) {
	switch {
	case c.UserpoolID == "":
		ps.add("userpool_id", "required: the Identity Hub user pool ID")
	case len(c.UserpoolID) > maxIDLength:
		ps.add("userpool_id", "is %d characters; at most %d are allowed", len(c.UserpoolID), maxIDLength)
	case strings.IndexFunc(c.UserpoolID, unicode.IsSpace) >= 0:
		ps.add("userpool_id", "must not contain spaces")
	}
	switch {
	case len(c.AgentID) > maxIDLength:
		ps.add("agent_id", "is %d characters; at most %d are allowed", len(c.AgentID), maxIDLength)
	case !agentIDRE.MatchString(c.AgentID):
		ps.add("agent_id", "must be 1 to %d characters of A-Z, a-z, 0-9, '.', '_' and '-', got %q", maxIDLength, c.AgentID)
	}
	if c.WorkingDirectory == "" {
		ps.add("working_directory", "required")
	}
	if c.StatePath == "" {
		ps.add("state_path", "required")
	}
	c.validateCredentials(ps)
	c.validateWriteback(ps)
	validateHostPort(ps, "endpoints.organization_manager", c.Endpoints.OrganizationManager, true)
	validateHostPort(ps, "endpoints.iam", c.Endpoints.IAM, true)
	validateHostPort(ps, "endpoints.operation", c.Endpoints.Operation, true)
	validateHostPort(ps, "endpoints.logging", c.Endpoints.Logging, true)
	if id := c.Logger.CloudLogger.LogGroupID; id != "" && (len(id) > 64 || strings.ContainsAny(id, " \t/")) {
		ps.add("logger.cloud_logger.log_group_id", "must be a log group ID such as e23abc..., got %q", id)
	}

	c.validateLDAP(ps)
	c.validateDRSR(ps)
	c.validateLogger(ps)
	c.validateSync(ps)

	if _, err := ParseSchedule(c.Schedule); err != nil {
		ps.add("schedule", "invalid cron expression %q: %s", c.Schedule, err.Error())
	}
	positive(ps, "full_sync_interval", c.FullSyncInterval)
	positive(ps, "report_interval", c.ReportInterval)
	positive(ps, "heartbeat_interval", c.HeartbeatInterval)
	positive(ps, "password_hash_sync.interval", c.PasswordHashSync.Interval)
	if c.UserControl.Interval < time.Second {
		ps.add("user_control.interval", "must be at least 1s, got %s", c.UserControl.Interval)
	}

	if c.Safety.MaxDeletions < -1 {
		ps.add("safety.max_deletions", "must be -1 (no limit) or more, got %d", c.Safety.MaxDeletions)
	}
	if p := c.Safety.MaxDeletionPercent; math.IsNaN(p) || p < 0 || p > 100 {
		ps.add("safety.max_deletion_percent", "must be between 0 and 100, got %v", p)
	}
	if c.Safety.MinSourceUsers < 0 {
		ps.add("safety.min_source_users", "must be 0 (off) or more, got %d", c.Safety.MinSourceUsers)
	}
	c.validateGuards(ps)
	intRange(ps, "apply.concurrency", c.Apply.Concurrency, 1, 64)
	if r := c.Apply.RateLimit; math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
		ps.add("apply.rate_limit", "must be 0 (unlimited) or a positive number of calls per second, got %v", r)
	}
	intRange(ps, "apply.max_retries", c.Apply.MaxRetries, 0, 100)
	if c.Metrics.Listen != "" {
		validateHostPort(ps, "metrics.listen", c.Metrics.Listen, false)
	}
	positive(ps, "metrics.healthy_after", c.Metrics.HealthyAfter)
	if c.Metrics.UnhealthyAfterFailures < 0 {
		ps.add("metrics.unhealthy_after_failures", "must be 0 (off) or more, got %d", c.Metrics.UnhealthyAfterFailures)
	}

	if c.CheckConfigPermissions {
		c.checkPermissions(ps)
	}
}

func (c *Config) validateCredentials(ps *problems) {
	n := 0
	for _, set := range []bool{c.CloudCredentialsFilePath != "", c.UseMetadataService, !c.IAMToken.IsZero()} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		ps.add("cloud_credentials_file_path", "required: set cloud_credentials_file_path (authorized key), use_metadata_service: true, or iam_token")
		return
	case !c.IAMToken.IsZero() && n > 1:
		ps.add("iam_token", "cannot be combined with cloud_credentials_file_path or use_metadata_service; keep one")
		return
	}
	if c.Credentials() == CredentialsKeyFile {
		validateKeyFile(ps, c.CloudCredentialsFilePath)
	}
}

// authorizedKey holds the fields of a Yandex Cloud authorized key file
// that idsync needs.
type authorizedKey struct {
	ID               string `json:"id"`
	ServiceAccountID string `json:"service_account_id"`
	UserAccountID    string `json:"user_account_id"`
	PrivateKey       string `json:"private_key"`
}

func validateKeyFile(ps *problems, path string) {
	const key = "cloud_credentials_file_path"
	data, err := readSmallFile(path)
	if err != nil {
		ps.add(key, "read authorized key: %s", err.Error())
		return
	}
	var k authorizedKey
	if err := json.Unmarshal(data, &k); err != nil {
		ps.add(key, "%s is not an authorized key JSON file: %s", path, err.Error())
		return
	}
	var missing []string
	if k.ID == "" {
		missing = append(missing, "id")
	}
	if k.ServiceAccountID == "" && k.UserAccountID == "" {
		missing = append(missing, "service_account_id")
	}
	if k.PrivateKey == "" {
		missing = append(missing, "private_key")
	}
	if len(missing) > 0 {
		ps.add(key, "authorized key %s lacks %s", path, strings.Join(missing, ", "))
	}
}

func (c *Config) validateLogger(ps *problems) {
	switch c.Logger.Level {
	case "debug", "info", "warn", "error", "dpanic", "panic", "fatal":
	default:
		ps.add("logger.level", "must be one of debug, info, warn, error, dpanic, panic, fatal; got %q", c.Logger.Level)
	}
	switch c.Logger.Format {
	case "plain", "json":
	default:
		ps.add("logger.format", "must be plain or json, got %q", c.Logger.Format)
	}
	if c.Logger.File.MaxSize < 1 {
		ps.add("logger.file.maxsize", "must be at least 1 (megabytes), got %d", c.Logger.File.MaxSize)
	}
	if c.Logger.File.MaxBackups < 0 {
		ps.add("logger.file.maxbackups", "must be 0 or more, got %d", c.Logger.File.MaxBackups)
	}
}

// validateHostPort checks a host:port address. A remote address (needHost)
// needs a host and a port from 1; a listen address may leave the host empty
// for all interfaces and use port 0 for a free port (logged at start).
func validateHostPort(ps *problems, key, addr string, needHost bool) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && needHost && host == "" {
		err = errMissingHost
	}
	minPort := 1
	if !needHost {
		minPort = 0
	}
	if err == nil {
		if n, convErr := strconv.Atoi(port); convErr != nil || n < minPort || n > 65535 {
			err = errBadPort
		}
	}
	if err != nil {
		ps.add(key, "must be host:port, such as \"127.0.0.1:9464\", got %q", addr)
	}
}

type addrError string

func (e addrError) Error() string { return string(e) }

const (
	errMissingHost = addrError("missing host")
	errBadPort     = addrError("bad port")
)

func positive(ps *problems, key string, d time.Duration) {
	if d <= 0 {
		ps.add(key, "must be a positive duration, got %s", d)
	}
}

func intRange(ps *problems, key string, v, lo, hi int) {
	if v < lo || v > hi {
		ps.add(key, "must be between %d and %d, got %d", lo, hi, v)
	}
}
