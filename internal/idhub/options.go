package idhub

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Default endpoints of the Yandex Cloud API.
const (
	DefaultOrganizationManagerEndpoint = "organization-manager.api.cloud.yandex.net:443"
	DefaultOperationEndpoint           = "operation.api.cloud.yandex.net:443"
	DefaultIAMEndpoint                 = "iam.api.cloud.yandex.net:443"
)

// Defaults applied by New to zero-valued options.
const (
	DefaultDialTimeout    = 10 * time.Second
	DefaultCallTimeout    = 30 * time.Second
	DefaultPollInitial    = 50 * time.Millisecond
	DefaultPollMax        = 2 * time.Second
	DefaultMaxAttempts    = 4
	DefaultInitialBackoff = 100 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
)

// MaxBatch is the largest number of items the API accepts in one list
// page, one ResolveExternalIds call or one UpdateMembers call.
const MaxBatch = 1000

// Options configures a Client. Zero values select the documented defaults.
type Options struct {
	// UserpoolID is the user pool (subject container) all helpers work on.
	// Required.
	UserpoolID string
	// OrganizationID is used when creating external groups. Empty means it
	// is read once from the user pool on first use.
	OrganizationID string

	// OrganizationManagerEndpoint, OperationEndpoint and IAMEndpoint are
	// host:port addresses (or any gRPC target). Empty selects the public
	// Yandex Cloud endpoints.
	OrganizationManagerEndpoint string
	OperationEndpoint           string
	IAMEndpoint                 string

	// Plaintext disables TLS on all connections and lets credentials be
	// sent without transport security. Only for a local emulator.
	Plaintext bool
	// CAFile is an optional PEM file with extra root certificates, added
	// to the system pool.
	CAFile string

	// DialTimeout bounds one connection attempt. Zero means 10s.
	DialTimeout time.Duration
	// CallTimeout bounds one RPC attempt when the caller's context has no
	// earlier deadline. Zero means 30s; negative disables it.
	CallTimeout time.Duration

	// Version is sent in the user agent as idsync/<version>. Empty means
	// "dev".
	Version string

	// Credentials: exactly one of AuthorizedKeyFile, UseMetadataService,
	// StaticToken or TokenSource must be set.
	//
	// AuthorizedKeyFile is a service account authorized key JSON file.
	AuthorizedKeyFile string
	// UseMetadataService takes IAM tokens from the VM metadata service.
	UseMetadataService bool
	// MetadataURL overrides the metadata token URL. Empty means
	// DefaultMetadataURL.
	MetadataURL string
	// StaticToken is a fixed IAM token.
	StaticToken string
	// TokenSource is any other token source.
	TokenSource TokenSource

	// CallsPerSecond caps the rate of every API call, retries and
	// operation polls included, so the client stays under the server's
	// limit instead of being throttled; zero means no limit.
	CallsPerSecond float64

	// Retry configures the one retry layer (see retry.go): how often a
	// call that failed with a transient error is made again.
	Retry RetryOptions
	// PollInitial and PollMax bound the delay between operation polls.
	// Zero means 50ms and 2s.
	PollInitial time.Duration
	PollMax     time.Duration

	// Logger receives debug and warning messages. Nil means no logging.
	Logger *zap.Logger
	// Now is the clock used by token sources. Nil means time.Now.
	Now func() time.Time
	// HTTPClient is used for the metadata service. Nil means a client
	// with a 10s timeout. Either way no proxy is used and no redirect is
	// followed (see MetadataTokenOptions.HTTPClient).
	HTTPClient *http.Client
	// DialOptions are appended to the options of every connection (for
	// example a custom dialer in tests).
	DialOptions []grpc.DialOption
}

// RetryOptions configures the retry layer. Zero values select the
// defaults.
type RetryOptions struct {
	// MaxAttempts is the most times one call is made, the first attempt
	// included: 1 disables retries. Zero means 4.
	MaxAttempts int
	// InitialBackoff is the first delay before a retry. Zero means 100ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the delay. Zero means 5s.
	MaxBackoff time.Duration
}

func (o *Options) setDefaults() {
	if o.OrganizationManagerEndpoint == "" {
		o.OrganizationManagerEndpoint = DefaultOrganizationManagerEndpoint
	}
	if o.OperationEndpoint == "" {
		o.OperationEndpoint = DefaultOperationEndpoint
	}
	if o.IAMEndpoint == "" {
		o.IAMEndpoint = DefaultIAMEndpoint
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	o.Retry.setDefaults()
	if o.PollInitial <= 0 {
		o.PollInitial = DefaultPollInitial
	}
	if o.PollMax <= 0 {
		o.PollMax = DefaultPollMax
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func (r *RetryOptions) setDefaults() {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.InitialBackoff <= 0 {
		r.InitialBackoff = DefaultInitialBackoff
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.UserpoolID == "" {
		errs = append(errs, errors.New("userpool id is required"))
	}
	n := 0
	for _, set := range []bool{o.AuthorizedKeyFile != "", o.UseMetadataService, o.StaticToken != "", o.TokenSource != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, fmt.Errorf("exactly one of authorized key file, metadata service, static token or token source must be set (got %d)", n))
	}
	if o.Plaintext && o.CAFile != "" {
		errs = append(errs, errors.New("ca file cannot be used with plaintext"))
	}
	return errors.Join(errs...)
}
