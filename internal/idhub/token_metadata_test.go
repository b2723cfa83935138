package idhub

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
)

// tokenServer serves metadata tokens named name and counts its requests.
func tokenServer(t *testing.T, name string, hits *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprintf(w, `{"access_token":"t1.%s","expires_in":3600,"token_type":"Bearer"}`, name)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestMetadataRedirectRefused checks that the metadata token client does
// not follow a redirect, with its own HTTP client or a given one.
func TestMetadataRedirectRefused(t *testing.T) {
	var elsewhereHits, redirects atomic.Int32
	elsewhere := tokenServer(t, "elsewhere", &elsewhereHits)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, elsewhere.URL+"/token", http.StatusFound)
	}))
	defer redirector.Close()

	for name, hc := range map[string]*http.Client{"default client": nil, "given client": redirector.Client()} {
		t.Run(name, func(t *testing.T) {
			before := redirects.Load()
			src := NewMetadataTokenSource(MetadataTokenOptions{URL: redirector.URL + "/token", HTTPClient: hc, AllowPlaintext: true})
			tok, err := src.Token(context.Background())
			if err == nil {
				t.Fatalf("token %q taken through a redirect", tok.Value())
			}
			if got := Classify(err); got != ClassPermission {
				t.Errorf("class = %v (err %v), want permission", got, err)
			}
			if redirects.Load() == before {
				t.Error("the redirecting server was not asked")
			}
		})
	}
	if n := elsewhereHits.Load(); n != 0 {
		t.Errorf("the redirect target was asked %d times", n)
	}
	if hc := redirector.Client(); hc.CheckRedirect != nil {
		t.Error("the given client was changed")
	}
}

// metadataProxyChild names the metadata URL a child process of
// TestMetadataIgnoresProxyEnv fetches from.
const metadataProxyChild = "IDSYNC_TEST_METADATA_URL"

// TestMetadataIgnoresProxyEnv checks that the metadata token client does
// not use HTTP_PROXY. net/http reads the proxy variables once per process,
// so the fetch runs in a child process started with them set; its URL
// names the host 0.0.0.0, which net/http would proxy (it never proxies
// loopback names) and which reaches the local server directly.
func TestMetadataIgnoresProxyEnv(t *testing.T) {
	if u := os.Getenv(metadataProxyChild); u != "" {
		for name, hc := range map[string]*http.Client{"default client": nil, "given client": {}} {
			src := NewMetadataTokenSource(MetadataTokenOptions{URL: u, HTTPClient: hc, AllowPlaintext: true})
			tok, err := src.Token(context.Background())
			if err != nil || tok.Value() != "t1.direct" {
				t.Errorf("%s: token %q, err %v; want t1.direct from the metadata service itself", name, tok.Value(), err)
			}
		}
		return
	}
	var directHits, proxyHits atomic.Int32
	direct := tokenServer(t, "direct", &directHits)
	proxy := tokenServer(t, "proxied", &proxyHits)
	du, err := url.Parse(direct.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(du.Host)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMetadataIgnoresProxyEnv$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), metadataProxyChild+"=http://0.0.0.0:"+port+"/token",
		"HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "HTTPS_PROXY="+proxy.URL, "https_proxy="+proxy.URL,
		"NO_PROXY=", "no_proxy=", "REQUEST_METHOD=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("child process: %v\n%s", err, out)
	}
	if n := proxyHits.Load(); n != 0 {
		t.Errorf("the proxy was asked %d times", n)
	}
	if n := directHits.Load(); n != 2 {
		t.Errorf("the metadata service was asked %d times, want 2", n)
	}
}
