package agent

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/pool"
)

// scopeTokenPrefix starts every replication token idsync writes. The token
// records, after it, the fingerprint of the scope and mapping it was
// written under (see ScopeFingerprint), then a dot and the watermark.
const scopeTokenPrefix = "idsync1."

// ScopeFingerprint returns a short digest of what decides which directory
// objects a pool holds and how they map: the scope filter (domain,
// organization units, groups), the replacement domain and the attribute
// mappings. Two agents with the same fingerprint manage the same objects
// the same way. Letter case and the order of units and groups do not
// count; settings that do not change which objects are in the pool
// (interval, capture, remove behaviour) are left out.
func ScopeFingerprint(s SyncSettings) string {
	c := ToCloud(s, 0)
	var b strings.Builder
	lower := func(vs []string) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = strings.ToLower(strings.TrimSpace(v))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	fmt.Fprintf(&b, "domain=%s\n", strings.ToLower(c.Filter.Domain))
	for _, ou := range lower(c.Filter.OrganizationUnits) {
		fmt.Fprintf(&b, "ou=%s\n", ou)
	}
	for _, g := range lower(c.Filter.Groups) {
		fmt.Fprintf(&b, "group=%s\n", g)
	}
	fmt.Fprintf(&b, "replacement_domain=%s\n", strings.ToLower(c.ReplacementDomain))
	for _, m := range c.UserAttributeMappings {
		fmt.Fprintf(&b, "user.%s=%s:%s\n", m.Target, m.Type, strings.ToLower(m.Source))
	}
	for _, m := range c.GroupAttributeMappings {
		fmt.Fprintf(&b, "group.%s=%s:%s\n", m.Target, m.Type, strings.ToLower(m.Source))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

// ScopeLabel describes a scope for people: the filter and the fingerprint,
// which also covers the mapping.
func ScopeLabel(s SyncSettings) string {
	list := func(vs []string) string {
		if len(vs) == 0 {
			return "(all)"
		}
		return fmt.Sprintf("%q", vs)
	}
	return fmt.Sprintf("domain %q, organization units %s, groups %s, fingerprint %s",
		s.Domain, list(s.OrganizationalUnits), list(s.Groups), ScopeFingerprint(s))
}

// tokenScope returns the scope fingerprint a replication token was written
// under, or "" for a token that records none (written by another product
// or an earlier idsync).
func tokenScope(token string) string {
	rest, ok := strings.CutPrefix(token, scopeTokenPrefix)
	if !ok {
		return ""
	}
	fp, _, ok := strings.Cut(rest, ".")
	if !ok || len(fp) != 16 {
		return ""
	}
	return fp
}

// scopeStop is the safety stop of an agent whose scope or mapping is not
// the one the pool was last synchronized or configured under.
func scopeStop(what, pool, agent string) *SafetyError {
	return &SafetyError{Stop: &SafetyStop{
		ScopeChange: true,
		Reason: fmt.Sprintf("%s a different scope or mapping than this agent's: pool: %s; this agent: %s. "+
			"Two agents with different scopes on one pool delete each other's users. If this agent is meant "+
			"to take the pool over, confirm once with 'idsync sync --full --accept-scope-change'", what, pool, agent),
	}}
}

// checkCloudScope stops when the pool's settings, have, were written under
// a scope or mapping other than want's.
func checkCloudScope(have, want *pool.Settings) error {
	hs, ws := FromCloud(have), FromCloud(want)
	if ScopeFingerprint(hs) == ScopeFingerprint(ws) {
		return nil
	}
	return scopeStop("the pool's synchronization settings were written under", ScopeLabel(hs), ScopeLabel(ws))
}

// checkScope stops a cycle when the pool's replication token was written
// under another scope or mapping than this agent's: another agent with
// another scope syncs the pool, or the scope changed since the last cycle.
// A token that records no scope (the first cycle, or another product's
// token) passes.
func (c *cycle) checkScope(pool *pool.Settings) error {
	have, want := tokenScope(c.token), ScopeFingerprint(c.settings)
	if have == "" || have == want {
		return nil
	}
	label := "fingerprint " + have
	if pool != nil {
		if ps := FromCloud(pool); ScopeFingerprint(ps) == have {
			label = ScopeLabel(ps)
		}
	}
	err := scopeStop("the pool's replication token was written under", label, ScopeLabel(c.settings))
	if c.opts.AcceptScopeChange {
		c.log.Warn("the pool changes scope or mapping, as confirmed; synchronizing in full", zap.String("change", err.Error()))
		return nil
	}
	return err
}

// encodeToken turns a watermark into a replication token: scopeTokenPrefix,
// the fingerprint of the scope and mapping it is written under, a dot, and
// the watermark's base64 encoding, or, when the token would exceed the
// API's 1000 characters (a large DirSync cookie), "sha256:" and the digest
// of the encoding. The local state always holds the full watermark; the
// token lets any agent tell whether its local state is the one the pool
// last saw, and under which scope.
func encodeToken(w directory.Watermark, scope string) (string, error) {
	b, err := w.MarshalBinary()
	if err != nil {
		return "", err
	}
	prefix := scopeTokenPrefix + scope + "."
	s := base64.StdEncoding.EncodeToString(b)
	if len(prefix)+len(s) > maxTokenChars {
		sum := sha256.Sum256(b)
		return prefix + "sha256:" + hex.EncodeToString(sum[:]), nil
	}
	return prefix + s, nil
}

func encodeTokenOrEmpty(w directory.Watermark, scope string) string {
	s, _ := encodeToken(w, scope)
	return s
}
