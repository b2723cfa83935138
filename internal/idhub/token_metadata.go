package idhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultMetadataURL is the token URL of the Compute Cloud metadata service.
const DefaultMetadataURL = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token"

// MetadataTokenOptions configures a MetadataTokenSource.
type MetadataTokenOptions struct {
	// URL of the token endpoint; empty means DefaultMetadataURL.
	URL string
	// HTTPClient; nil means a client with a 10s timeout. Whichever client
	// is used, it never goes through a proxy (HTTP_PROXY and HTTPS_PROXY
	// are ignored: the metadata service is link-local, and a proxy would
	// see the token) and never follows a redirect. A given client is
	// copied, not changed; its transport loses its proxy when it is an
	// *http.Transport (or nil).
	HTTPClient *http.Client
	// AllowPlaintext lets the token be sent without TLS (emulator only).
	AllowPlaintext bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means no logging.
	Logger *zap.Logger
}

// MetadataTokenSource takes IAM tokens of the VM's service account from the
// metadata service, caching them and refreshing early. It implements
// TokenSource and credentials.PerRPCCredentials.
type MetadataTokenSource struct {
	url        string
	hc         *http.Client
	now        func() time.Time
	requireTLS bool
	r          *refresher
}

// NewMetadataTokenSource returns a metadata service token source.
func NewMetadataTokenSource(opts MetadataTokenOptions) *MetadataTokenSource {
	s := &MetadataTokenSource{url: opts.URL, hc: opts.HTTPClient, now: opts.Now, requireTLS: !opts.AllowPlaintext}
	if s.url == "" {
		s.url = DefaultMetadataURL
	}
	s.hc = metadataHTTPClient(opts.HTTPClient)
	if s.now == nil {
		s.now = time.Now
	}
	s.r = newRefresher("metadata service", s.fetch, s.now, opts.Logger)
	return s
}

// errMetadataRedirect refuses a redirect from the metadata service.
var errMetadataRedirect = errors.New("redirects are not followed")

// metadataHTTPClient returns a copy of hc (nil: a client with a 10s
// timeout) that uses no proxy and follows no redirect.
func metadataHTTPClient(hc *http.Client) *http.Client {
	c := http.Client{Timeout: 10 * time.Second}
	if hc != nil {
		c = *hc
	}
	switch tr := c.Transport.(type) {
	case nil:
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		c.Transport = t
	case *http.Transport:
		t := tr.Clone()
		t.Proxy = nil
		c.Transport = t
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return errMetadataRedirect }
	return &c
}

type metadataToken struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

func (s *MetadataTokenSource) fetch(ctx context.Context) (Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return Token{}, fmt.Errorf("build metadata request: %w", err)
	}
	req.Header.Set("Metadata-Flavor", "Google")
	now := s.now()
	resp, err := s.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Token{}, fmt.Errorf("metadata request: %w", ctx.Err())
		}
		if errors.Is(err, errMetadataRedirect) {
			// Not transient: the service, or whatever answers in its
			// place, sends the request elsewhere.
			return Token{}, status.Errorf(codes.Unauthenticated, "metadata service: %v", err)
		}
		return Token{}, status.Errorf(codes.Unavailable, "metadata request: %v", err)
	}
	defer resp.Body.Close()
	// The body of a failed response is not read: only the status is reported.
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return Token{}, status.Errorf(codes.Unavailable, "metadata service: http status %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return Token{}, status.Errorf(codes.Unauthenticated, "metadata service: http status %d", resp.StatusCode)
	}
	var mt metadataToken
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&mt); err != nil {
		return Token{}, fmt.Errorf("metadata service: decode response: invalid json")
	}
	if mt.AccessToken == "" {
		return Token{}, fmt.Errorf("metadata service: response has no access_token")
	}
	if mt.ExpiresIn <= 0 {
		return Token{}, fmt.Errorf("metadata service: response has no expires_in")
	}
	return Token{value: mt.AccessToken, ExpiresAt: now.Add(time.Duration(mt.ExpiresIn) * time.Second)}, nil
}

// Token returns a valid IAM token, asking the metadata service when due.
func (s *MetadataTokenSource) Token(ctx context.Context) (Token, error) { return s.r.Token(ctx) }

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (s *MetadataTokenSource) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	return bearer{src: s}.GetRequestMetadata(ctx, uri...)
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (s *MetadataTokenSource) RequireTransportSecurity() bool { return s.requireTLS }

// String describes the source.
func (s *MetadataTokenSource) String() string { return "metadata service token source " + s.url }
