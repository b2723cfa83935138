package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// QuarantineStore keeps the objects whose change failed in consecutive
// cycles. *state.Store implements it.
type QuarantineStore interface {
	Failures() ([]state.Failure, error)
	RecordFailures(failed, succeeded []state.Failure, after int) error
}

// DefaultQuarantineRetry is how long a quarantined object waits for its
// next try when neither its directory object changes nor it is released.
const DefaultQuarantineRetry = 24 * time.Hour

type objKey struct {
	kind directory.Kind
	ext  string
}

// quarantine is what one cycle knows of the failing objects.
type quarantine struct {
	records map[objKey]state.Failure
	held    map[objKey]bool
	// in holds the directory objects the cycle read. Only the few objects
	// with a failure record or a failed change are looked up in it, so
	// the index into it is built on the first lookup and a version is
	// computed only for those objects.
	in    *Input
	index map[objKey]int
}

// lookup returns the position of k's object in q.in's users or groups.
func (q *quarantine) lookup(k objKey) (int, bool) {
	if q.index == nil {
		q.index = make(map[objKey]int, len(q.in.Users)+len(q.in.Groups))
		for i := range q.in.Users {
			q.index[objKey{directory.KindUser, q.in.Users[i].ExternalID}] = i
		}
		for i := range q.in.Groups {
			q.index[objKey{directory.KindGroup, q.in.Groups[i].ExternalID}] = i
		}
	}
	i, ok := q.index[k]
	return i, ok
}

// version is the version of k's directory object, "" when the cycle did
// not read it.
func (q *quarantine) version(k objKey) string {
	i, ok := q.lookup(k)
	switch {
	case !ok:
		return ""
	case k.kind == directory.KindUser:
		return version(q.in.Users[i])
	default:
		return version(q.in.Groups[i])
	}
}

// names returns the pool name and DN of k's directory object, empty when
// the cycle did not read it.
func (q *quarantine) names(k objKey) [2]string {
	i, ok := q.lookup(k)
	switch {
	case !ok:
		return [2]string{}
	case k.kind == directory.KindUser:
		return [2]string{q.in.Users[i].Username, q.in.Users[i].DN}
	default:
		return [2]string{q.in.Groups[i].Name, q.in.Groups[i].DN}
	}
}

// Quarantined reports whether a failure record keeps its object out of a
// cycle at now: it failed after times cycles in a row, was not released,
// was tried less than retry ago, and its directory object is the version
// that failed (version "" means the cycle does not read the object).
func Quarantined(f state.Failure, after int, retry time.Duration, now time.Time, version string) bool {
	return after > 0 && f.Count >= after && !f.Released && now.Sub(f.Last) < retry &&
		(version == "" || version == f.Version)
}

// holdQuarantined takes the changes of quarantined objects out of the plan,
// counting them as skipped. They stay pending, so a delta cycle plans them
// again and finds whether they are due.
func (c *cycle) holdQuarantined(pr *prepared) error {
	a := c.a
	if a.opts.Quarantine == nil || a.opts.QuarantineAfter <= 0 {
		return nil
	}
	recs, err := a.opts.Quarantine.Failures()
	if err != nil {
		return err
	}
	q := &quarantine{records: map[objKey]state.Failure{}, held: map[objKey]bool{}, in: pr.in}
	c.quarantine = q
	retry := a.opts.QuarantineRetry
	if retry <= 0 {
		retry = DefaultQuarantineRetry
	}
	now := a.now()
	for _, f := range recs {
		k := objKey{f.Kind, f.ExternalID}
		q.records[k] = f
		if Quarantined(f, a.opts.QuarantineAfter, retry, now, q.version(k)) {
			q.held[k] = true
		}
	}
	if len(q.held) == 0 {
		return nil
	}
	p := pr.plan
	var names []string
	users := p.Users[:0]
	for _, u := range p.Users {
		if q.held[objKey{directory.KindUser, u.ExternalID}] {
			if u.Action != ActionNone {
				c.counts.Add(directory.KindUser, actionChange(u.Action), reporter.Skipped, 1)
			}
			names = append(names, u.Fields.Username)
			continue
		}
		users = append(users, u)
	}
	p.Users = users
	groups := p.Groups[:0]
	for _, g := range p.Groups {
		if q.held[objKey{directory.KindGroup, g.ExternalID}] {
			c.counts.Add(directory.KindGroup, actionChange(g.Action), reporter.Skipped, 1)
			names = append(names, g.Name)
			continue
		}
		groups = append(groups, g)
	}
	p.Groups = groups
	members := p.Members[:0]
	for _, m := range p.Members {
		if q.held[objKey{directory.KindGroup, m.GroupExternalID}] {
			c.counts.Add(directory.KindMembership, reporter.Create, reporter.Skipped, int64(len(m.Add)))
			c.counts.Add(directory.KindMembership, reporter.Delete, reporter.Skipped, int64(len(m.Remove)))
			continue
		}
		members = append(members, m)
	}
	p.Members = members
	c.log.Warn("quarantined objects are not retried this cycle; see 'idsync jobs quarantine'",
		zap.Int("objects", len(q.held)), zap.Strings("examples", first(names)))
	return nil
}

// heldIDs returns the external ids of kind k the cycle held back.
func (c *cycle) heldIDs(k directory.Kind) []string {
	if c.quarantine == nil {
		return nil
	}
	var out []string
	for h := range c.quarantine.held {
		if h.kind == k {
			out = append(out, h.ext)
		}
	}
	return out
}

// recordFailures counts one more failed cycle for every object whose change
// failed and forgets the failures of objects this cycle settled.
func (c *cycle) recordFailures(plan *Plan, ap *applier) error {
	q := c.quarantine
	if q == nil {
		return nil
	}
	now := c.a.now().UTC()
	var failed, settled []state.Failure
	// A failed user is named by the username the plan gave it.
	usernames := map[string]string{}
	if len(ap.failedUsers) > 0 {
		for _, u := range plan.Users {
			if ap.failedUsers[u.ExternalID] && u.Fields.Username != "" {
				usernames[u.ExternalID] = u.Fields.Username
			}
		}
	}
	add := func(k directory.Kind, ext string) {
		key := objKey{k, ext}
		n := q.names(key)
		if name, ok := usernames[ext]; ok && k == directory.KindUser {
			n[0] = name
		}
		if n[0] == "" {
			n = [2]string{q.records[key].Name, q.records[key].DN}
		}
		failed = append(failed, state.Failure{Kind: k, ExternalID: ext, Name: n[0], DN: n[1],
			LastError: ap.errs[key], Last: now, Version: q.version(key)})
	}
	// Only objects whose own change failed count: a group whose members
	// were skipped because their user failed stays pending, unblamed.
	for ext := range ap.failedUsers {
		if _, own := ap.errs[objKey{directory.KindUser, ext}]; own {
			add(directory.KindUser, ext)
		}
	}
	for ext := range ap.failedGroups {
		if _, own := ap.errs[objKey{directory.KindGroup, ext}]; own {
			add(directory.KindGroup, ext)
		}
	}
	removed := map[objKey]bool{}
	for _, u := range plan.Users {
		removed[objKey{directory.KindUser, u.ExternalID}] = true
	}
	for _, g := range plan.Groups {
		removed[objKey{directory.KindGroup, g.ExternalID}] = true
	}
	for k, f := range q.records {
		failedNow := (k.kind == directory.KindUser && ap.failedUsers[k.ext]) || (k.kind == directory.KindGroup && ap.failedGroups[k.ext])
		_, read := q.lookup(k)
		if failedNow || q.held[k] || !(read || removed[k] || plan.Mode == ModeFull) {
			continue
		}
		settled = append(settled, f)
	}
	if len(failed) > 0 || len(settled) > 0 {
		if err := c.a.opts.Quarantine.RecordFailures(failed, settled, c.a.opts.QuarantineAfter); err != nil {
			return err
		}
	}
	recs, err := c.a.opts.Quarantine.Failures()
	if err != nil {
		return err
	}
	c.job.Quarantined = 0
	for _, f := range recs {
		if f.Quarantined {
			c.job.Quarantined++
		}
	}
	return nil
}

// version identifies the content of a directory object.
func version(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}
