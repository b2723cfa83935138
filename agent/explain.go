package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// Explanation says, step by step, why an object is in or out of scope,
// how its fields are computed, what the pool holds and what a cycle would
// change. It is what `idsync explain` prints.
type Explanation struct {
	Ref string `json:"ref"`
	// Found is true when the scope or the last synchronized state holds
	// the object; Directory is set whenever the directory does.
	Found      bool           `json:"found"`
	Object     directory.Kind `json:"object,omitempty"`
	DN         string         `json:"dn,omitempty"`
	ExternalID string         `json:"external_id,omitempty"`
	InScope    bool           `json:"in_scope"`
	// Scope are the scope decisions, one line each.
	Scope []string `json:"scope"`
	// Directory is what the directory holds about the object, read
	// whatever the scope, with the read's verdicts; Others are further
	// objects the reference also names.
	Directory *directory.ObjectFacts  `json:"directory,omitempty"`
	Others    []directory.ObjectFacts `json:"other_matches,omitempty"`
	// Fields is how each mapped user field is computed.
	Fields []FieldExplanation `json:"fields,omitempty"`
	// Groups are the in-scope groups the user is an effective member of
	// (direct, nested or primary group); Memberships say through which
	// nested groups.
	Groups      []string       `json:"groups,omitempty"`
	Memberships []Membership   `json:"memberships,omitempty"`
	PoolUser    *PoolUser      `json:"pool_user,omitempty"`
	PoolGroup   *PoolGroup     `json:"pool_group,omitempty"`
	Users       []UserChange   `json:"user_changes,omitempty"`
	GroupsCh    []GroupChange  `json:"group_changes,omitempty"`
	Members     []MemberChange `json:"membership_changes,omitempty"`
	Rejected    []Rejection    `json:"rejected,omitempty"`
	// Failure is the object's recorded failures (quarantine), if any.
	Failure *state.Failure `json:"failure,omitempty"`
	// LastJob is the newest job whose object list names the object, and
	// what it did; LastJobNote says why there is none.
	LastJob     *LastJob `json:"last_job,omitempty"`
	LastJobNote string   `json:"last_job_note,omitempty"`
}

// LastJob is the newest job that changed, failed on or rejected an
// object, and what it did to it.
type LastJob struct {
	ID string `json:"job_id"`
	// Type is "user_control" for a user-control session, empty for a
	// directory cycle.
	Type    string          `json:"type,omitempty"`
	Mode    string          `json:"mode,omitempty"`
	Trigger string          `json:"trigger"`
	Status  string          `json:"status"`
	Started time.Time       `json:"started"`
	Object  state.JobObject `json:"object"`
}

// Membership is one effective group of a user: Via are the nested groups
// between the group and the user, outermost first (none: a direct
// member), and Primary says the innermost link is the user's primary
// group.
type Membership struct {
	Group   string   `json:"group"`
	GroupID string   `json:"group_external_id"`
	Via     []string `json:"via,omitempty"`
	Primary bool     `json:"primary,omitempty"`
}

// String renders "Engineering (via Backend -> Platform)".
func (m Membership) String() string {
	switch {
	case len(m.Via) == 0 && m.Primary:
		return m.Group + " (primary group)"
	case len(m.Via) == 0:
		return m.Group + " (direct)"
	}
	s := m.Group + " (via " + strings.Join(m.Via, " -> ")
	if m.Primary {
		s += ", primary group"
	}
	return s + ")"
}

// FieldExplanation is one mapped field: its source attribute, the value
// read, the value idsync sends and the value the pool holds.
type FieldExplanation struct {
	Field     string `json:"field"`
	Source    string `json:"source"`
	Directory string `json:"directory"`
	Desired   string `json:"desired"`
	Pool      string `json:"pool"`
	Note      string `json:"note,omitempty"`
}

// ObjectLookup is a directory source that reads one object whatever the
// scope, with the verdicts of its read rules (*ldapsource.Source).
type ObjectLookup interface {
	Lookup(ctx context.Context, ref string) ([]directory.ObjectFacts, error)
}

// TouchLog finds the last job that changed an object (*state.Jobs).
type TouchLog interface {
	LastTouch(externalID string) (*state.Touch, error)
}

// Explain reads one object from the directory and the pool and explains
// what a cycle does with it. It changes nothing.
func (a *Agent) Explain(ctx context.Context, ref string) (*Explanation, error) {
	c := &cycle{a: a, log: a.log, job: &state.Job{}, counts: &reporter.Counts{}, opts: CycleOptions{DryRun: true}}
	if err := c.localOrPoolSettings(ctx); err != nil {
		return nil, err
	}
	ex := &Explanation{Ref: ref}
	op, _, err := c.planObject(ctx, ref)
	notFound := errors.Is(err, ErrObjectNotFound)
	if err != nil && !notFound {
		return nil, err
	}
	facts, err := c.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(facts) > 0 {
		ex.Directory, ex.Others = &facts[0], facts[1:]
		if !notFound {
			// The object the plan is about comes first.
			ex.Directory, ex.Others = pickFacts(facts, op)
		}
	}
	var snap *directory.Snapshot
	if op != nil {
		snap = op.snap
	}
	if notFound {
		if ex.Directory != nil {
			ex.Object, ex.DN, ex.ExternalID = ex.Directory.Kind, ex.Directory.DN, ex.Directory.ExternalID
			ex.Scope = c.factScope(ex.Directory, snap)
		} else {
			ex.Scope = append(c.scopeLines(ref), "no directory object matches: no user (UPN, sAMAccountName, DN, objectGUID) or group (name, DN, objectGUID) has this name")
		}
		a.lastJob(ex)
		return ex, nil
	}
	ex.Found, ex.Object, ex.InScope, ex.Groups = true, op.Object, op.InScope, op.Groups
	ex.PoolUser, ex.PoolGroup = op.PoolUser, op.PoolGroup
	ex.Users, ex.GroupsCh, ex.Members, ex.Rejected = op.Plan.Users, op.Plan.Groups, op.Plan.Members, op.Plan.Rejected
	if op.User != nil {
		ex.DN, ex.ExternalID = op.User.DN, op.User.ExternalID
		ex.Fields = c.explainFields(op.User, op.PoolUser)
		if op.InScope {
			ex.Memberships = memberships(snap, op.User)
		}
	} else {
		ex.DN, ex.ExternalID = op.Group.DN, op.Group.ExternalID
	}
	switch {
	case ex.Directory != nil:
		ex.Scope = c.factScope(ex.Directory, snap)
	default:
		ex.Scope = c.scopeLines(ex.DN)
		switch {
		case op.InScope:
			ex.Scope = append(ex.Scope, "in scope: the directory read selects it")
		case len(facts) == 0:
			ex.Scope = append(ex.Scope, "no directory object matches it any more: it was deleted, or renamed (name it by objectGUID)")
		default:
			ex.Scope = append(ex.Scope, "not in scope now: the directory read no longer selects it")
		}
	}
	if !op.InScope {
		ex.Scope = append(ex.Scope, "the last synchronized state still has it: a cycle removes it from the pool (or blocks it, per remove_user_behavior)")
	}
	if op.Group != nil && op.InScope {
		ex.Scope = append(ex.Scope, fmt.Sprintf("the group has %d effective members in scope", len(op.Group.Members)))
	}
	if q := a.opts.Quarantine; q != nil {
		fs, err := q.Failures()
		if err == nil {
			for i := range fs {
				if fs[i].ExternalID == ex.ExternalID {
					ex.Failure = &fs[i]
				}
			}
		}
	}
	a.lastJob(ex)
	return ex, nil
}

// lookup reads the objects ref names whatever the scope, when the source
// can.
func (c *cycle) lookup(ctx context.Context, ref string) ([]directory.ObjectFacts, error) {
	src, err := c.a.opts.NewSource(c.settings)
	if err != nil {
		return nil, fmt.Errorf("directory source: %w", err)
	}
	if cl, ok := src.(interface{ Close() error }); ok {
		defer cl.Close()
	}
	l, ok := src.(ObjectLookup)
	if !ok {
		return nil, nil
	}
	facts, err := l.Lookup(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errSourceRead, err)
	}
	return facts, nil
}

// pickFacts puts the facts of the planned object first.
func pickFacts(facts []directory.ObjectFacts, op *ObjectPlan) (*directory.ObjectFacts, []directory.ObjectFacts) {
	ext := ""
	if op.User != nil {
		ext = op.User.ExternalID
	} else if op.Group != nil {
		ext = op.Group.ExternalID
	}
	for i := range facts {
		if facts[i].ExternalID == ext {
			rest := append(slices.Clone(facts[:i]), facts[i+1:]...)
			return &facts[i], rest
		}
	}
	return nil, facts
}

// lastJob fills in the newest job that changed the object.
func (a *Agent) lastJob(ex *Explanation) {
	tl, ok := a.opts.Jobs.(TouchLog)
	if !ok || ex.ExternalID == "" {
		return
	}
	t, err := tl.LastTouch(ex.ExternalID)
	switch {
	case err != nil:
		ex.LastJobNote = "the job history cannot be read: " + err.Error()
	case t == nil:
		ex.LastJobNote = fmt.Sprintf("none of the object lists of the last %d jobs that changed something names it (a job lists at most %d objects)", state.KeepObjectLists, state.MaxJobObjects)
	default:
		j := t.Job
		ex.LastJob = &LastJob{ID: j.ID, Type: j.Type, Mode: j.Mode, Trigger: j.TriggerType, Status: j.Status, Started: j.StartTime.UTC(), Object: t.Object}
	}
}

// memberships names the user's effective groups and the nested groups
// each goes through.
func memberships(snap *directory.Snapshot, u *directory.User) []Membership {
	if snap == nil {
		return nil
	}
	names := map[string]string{}
	for _, g := range snap.Groups {
		names[g.ExternalID] = g.Name
	}
	name := func(id string) string {
		if n, ok := names[id]; ok && n != "" {
			return n
		}
		return id
	}
	paths := directory.MemberPaths(snap.Graph.Links, u.ExternalID, u.PrimaryGroupID, true)
	var out []Membership
	for _, g := range snap.Groups {
		if _, ok := slices.BinarySearch(g.Members, u.ExternalID); !ok {
			continue
		}
		m := Membership{Group: name(g.ExternalID), GroupID: g.ExternalID}
		if p, ok := paths[g.ExternalID]; ok {
			m.Primary = p.Primary
			for _, v := range p.Via {
				m.Via = append(m.Via, name(v))
			}
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Membership) int { return strings.Compare(strings.ToLower(a.Group), strings.ToLower(b.Group)) })
	return out
}

// explainFields explains each mapped user field.
func (c *cycle) explainFields(u *directory.User, pool *PoolUser) []FieldExplanation {
	want, werr := desiredUser(u, c.settings.Plan.ReplacementDomain)
	var have UserFields
	if pool != nil {
		have = pool.Fields
	}
	type f struct {
		field           directory.UserField
		name            string
		dir, want, have string
	}
	rows := []f{
		{directory.FieldUsername, "username", u.Username, want.Username, have.Username},
		{directory.FieldFullName, "full_name", u.FullName, want.FullName, have.FullName},
		{directory.FieldGivenName, "given_name", u.GivenName, want.GivenName, have.GivenName},
		{directory.FieldFamilyName, "family_name", u.FamilyName, want.FamilyName, have.FamilyName},
		{directory.FieldEmail, "email", u.Email, want.Email, have.Email},
		{directory.FieldPhoneNumber, "phone_number", u.PhoneNumber, want.PhoneNumber, have.PhoneNumber},
		{directory.FieldEmployeeID, "employee_id", u.EmployeeID, want.EmployeeID, have.EmployeeID},
		{directory.FieldDepartment, "department", u.Department, want.Department, have.Department},
		{directory.FieldJobTitle, "job_title", u.JobTitle, want.JobTitle, have.JobTitle},
		{directory.FieldCompanyName, "company_name", u.CompanyName, want.CompanyName, have.CompanyName},
	}
	var out []FieldExplanation
	for _, r := range rows {
		m, ok := c.settings.Mapping.User[r.field]
		src := "(not mapped)"
		if ok {
			src = m.Source
			if m.Type != directory.Direct && m.Type != "" {
				src = fmt.Sprintf("%s (%s)", m.Source, m.Type)
			}
		}
		e := FieldExplanation{Field: r.name, Source: src, Directory: r.dir, Desired: r.want, Pool: r.have}
		switch {
		case r.name == "username" && werr != nil:
			e.Note = werr.Error()
		case r.name == "username" && c.settings.Plan.ReplacementDomain != "" && r.dir != r.want:
			e.Note = "domain replaced by " + c.settings.Plan.ReplacementDomain
		case r.name == "full_name" && r.dir == "" && r.want != "":
			e.Note = "empty in the directory: given and family name, else the username's local part"
		}
		if pool != nil && r.want != r.have && e.Note == "" {
			e.Note = "differs from the pool: a cycle updates it"
		}
		out = append(out, e)
	}
	return out
}
