package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// Explanation says, step by step, why an object is in or out of scope,
// how its fields are computed, what the pool holds and what a cycle would
// change. It is what `idsync explain` prints.
type Explanation struct {
	Ref        string         `json:"ref"`
	Found      bool           `json:"found"`
	Object     directory.Kind `json:"object,omitempty"`
	DN         string         `json:"dn,omitempty"`
	ExternalID string         `json:"external_id,omitempty"`
	InScope    bool           `json:"in_scope"`
	// Scope are the scope decisions, one line each.
	Scope []string `json:"scope"`
	// Fields is how each mapped user field is computed.
	Fields []FieldExplanation `json:"fields,omitempty"`
	// Groups are the in-scope groups the user is an effective member of
	// (direct, nested or primary group).
	Groups    []string       `json:"groups,omitempty"`
	PoolUser  *PoolUser      `json:"pool_user,omitempty"`
	PoolGroup *PoolGroup     `json:"pool_group,omitempty"`
	Users     []UserChange   `json:"user_changes,omitempty"`
	GroupsCh  []GroupChange  `json:"group_changes,omitempty"`
	Members   []MemberChange `json:"membership_changes,omitempty"`
	Rejected  []Rejection    `json:"rejected,omitempty"`
	// Failure is the object's recorded failures (quarantine), if any.
	Failure *state.Failure `json:"failure,omitempty"`
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

// Explain reads one object from the directory and the pool and explains
// what a cycle does with it. It changes nothing.
func (a *Agent) Explain(ctx context.Context, ref string) (*Explanation, error) {
	c := &cycle{a: a, log: a.log, job: &state.Job{}, counts: &reporter.Counts{}, opts: CycleOptions{DryRun: true}}
	if err := c.localOrPoolSettings(ctx); err != nil {
		return nil, err
	}
	ex := &Explanation{Ref: ref}
	op, _, err := c.planObject(ctx, ref)
	if errors.Is(err, ErrObjectNotFound) {
		ex.Scope = c.scopeLines(ref, nil, false)
		ex.Scope = append(ex.Scope, "not found among the objects the scope selects, nor in the last synchronized state: it is outside the scope (filter, OU or group), a system object, not a user or group, or does not exist")
		return ex, nil
	}
	if err != nil {
		return nil, err
	}
	ex.Found, ex.Object, ex.InScope, ex.Groups = true, op.Object, op.InScope, op.Groups
	ex.PoolUser, ex.PoolGroup = op.PoolUser, op.PoolGroup
	ex.Users, ex.GroupsCh, ex.Members, ex.Rejected = op.Plan.Users, op.Plan.Groups, op.Plan.Members, op.Plan.Rejected
	if op.User != nil {
		ex.DN, ex.ExternalID = op.User.DN, op.User.ExternalID
		ex.Scope = c.scopeLines(op.User.DN, op.Groups, op.InScope)
		if op.InScope {
			if op.User.Enabled {
				ex.Scope = append(ex.Scope, "the account is enabled: active in the pool")
			} else {
				ex.Scope = append(ex.Scope, "the account is disabled (userAccountControl ACCOUNTDISABLE): synchronized, but inactive in the pool")
			}
			if !op.User.ExpiresAt.IsZero() {
				ex.Scope = append(ex.Scope, "the account expires at "+op.User.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")+" (sent as expires_at)")
			}
		}
		ex.Fields = c.explainFields(op.User, op.PoolUser)
	} else {
		ex.DN, ex.ExternalID = op.Group.DN, op.Group.ExternalID
		ex.Scope = c.scopeLines(op.Group.DN, nil, op.InScope)
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
	return ex, nil
}

// scopeLines explains the scope filter for a DN.
func (c *cycle) scopeLines(dn string, groups []string, inScope bool) []string {
	s := c.settings
	var out []string
	if s.Domain != "" {
		out = append(out, "domain filter: "+s.Domain)
	}
	if len(s.OrganizationalUnits) == 0 {
		out = append(out, "no OU filter: the whole domain is in scope")
	}
	looksDN := strings.Contains(dn, "=")
	for _, ou := range s.OrganizationalUnits {
		switch {
		case !looksDN:
		case underDN(dn, ou):
			out = append(out, "under "+ou+": matched")
		default:
			out = append(out, "not under "+ou)
		}
	}
	for _, g := range s.Groups {
		member := false
		for _, name := range groups {
			if strings.EqualFold(name, g) || strings.HasPrefix(strings.ToLower(g), "cn="+strings.ToLower(name)+",") {
				member = true
			}
		}
		if member {
			out = append(out, "member of the scope group "+g+": matched")
		} else {
			out = append(out, "group filter "+g+": not a member that idsync could see")
		}
	}
	switch {
	case inScope:
		out = append(out, "in scope: the directory read selects it")
	case dn != "" && looksDN:
		out = append(out, "not in scope now: the directory read no longer selects it (it left the scope, was deleted, or is a system object); the last synchronized state still has it, so a cycle removes it from the pool")
	}
	return out
}

// underDN reports whether dn is ou or below it.
func underDN(dn, ou string) bool {
	d, o := strings.ToLower(strings.ReplaceAll(dn, " ", "")), strings.ToLower(strings.ReplaceAll(ou, " ", ""))
	return d == o || strings.HasSuffix(d, ","+o)
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
