package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/idsync/idsync/agent"
)

// planMembersShown is how many members of one group a text plan lists
// before it gives the count of the rest.
const planMembersShown = 10

// fieldChange is one field of a planned update, old and new value as
// people read them.
type fieldChange struct{ Field, Old, New string }

// userFieldChanges returns the fields a user change updates, old -> new.
func userFieldChanges(c agent.UserChange) []fieldChange {
	if c.Previous == nil {
		return nil
	}
	out := make([]fieldChange, 0, len(c.Mask))
	for _, path := range c.Mask {
		out = append(out, fieldChange{Field: path, Old: userField(*c.Previous, path), New: userField(c.Fields, path)})
	}
	return out
}

// groupFieldChanges returns the fields a group change updates.
func groupFieldChanges(c agent.GroupChange) []fieldChange {
	var out []fieldChange
	for _, path := range c.Mask {
		switch path {
		case "name":
			out = append(out, fieldChange{Field: path, Old: c.PreviousName, New: c.Name})
		case "description":
			out = append(out, fieldChange{Field: path, Old: c.PreviousDescription, New: c.Description})
		}
	}
	return out
}

// userField is the value of one update-mask path of f.
func userField(f agent.UserFields, path string) string {
	switch path {
	case "username":
		return f.Username
	case "full_name":
		return f.FullName
	case "given_name":
		return f.GivenName
	case "family_name":
		return f.FamilyName
	case "email":
		return f.Email
	case "phone_number":
		return f.PhoneNumber
	case "company_name":
		return f.CompanyName
	case "department":
		return f.Department
	case "job_title":
		return f.JobTitle
	case "employee_id":
		return f.EmployeeID
	case "expires_at":
		if f.ExpiresAt.IsZero() {
			return "never"
		}
		return f.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return ""
}

// userVerb is what a plan does to a user: "update+deactivate", ...
func userVerb(c agent.UserChange) string {
	verb := string(c.Action)
	if c.Status != agent.StatusSame {
		if verb != "" {
			verb += "+"
		}
		verb += string(c.Status)
	}
	return verb
}

// memberName is the pool username of a member, else its external id.
func memberName(p *agent.Plan, ext string) string {
	if n := p.UserNames[ext]; n != "" {
		return n
	}
	return ext
}

func memberNames(p *agent.Plan, exts []string) []string {
	out := make([]string, len(exts))
	for i, e := range exts {
		out[i] = memberName(p, e)
	}
	return out
}

// firstOf lists the first planMembersShown names, then how many more.
func firstOf(names []string) string {
	if len(names) <= planMembersShown {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:planMembersShown], ", ") + fmt.Sprintf(" and %d more", len(names)-planMembersShown)
}

// writePlanText prints one line per change, by name (external ids are in
// the JSON form), each updated field as old -> new, the members a group
// gains and loses, then a summary and any safety stop.
func writePlanText(w io.Writer, p *agent.Plan) {
	adds, removes := 0, 0
	detail := func(f fieldChange) { fmt.Fprintf(w, "         %s: %q -> %q\n", f.Field, f.Old, f.New) }
	for _, c := range p.Users {
		fmt.Fprintf(w, "user   %-20s %s\n", userVerb(c), c.Fields.Username)
		for _, f := range userFieldChanges(c) {
			detail(f)
		}
	}
	for _, c := range p.Groups {
		fmt.Fprintf(w, "group  %-20s %s", c.Action, c.Name)
		if c.ADName != "" {
			fmt.Fprintf(w, " (AD %q)", c.ADName)
		}
		fmt.Fprintln(w)
		for _, f := range groupFieldChanges(c) {
			detail(f)
		}
	}
	for _, m := range p.Members {
		fmt.Fprintf(w, "group  %-20s %s +%d -%d\n", "members", m.GroupName, len(m.Add), len(m.Remove))
		if len(m.Add) > 0 {
			fmt.Fprintf(w, "         + %s\n", firstOf(memberNames(p, m.Add)))
		}
		if len(m.Remove) > 0 {
			fmt.Fprintf(w, "         - %s\n", firstOf(memberNames(p, m.Remove)))
		}
		adds += len(m.Add)
		removes += len(m.Remove)
	}
	for _, r := range p.Rejected {
		who := r.DN
		if who == "" {
			who = r.ExternalID
		}
		fmt.Fprintf(w, "REJECTED %s %s (%s): %s\n", r.Object, who, r.Action, r.Reason)
	}
	fmt.Fprintf(w, "%s plan: %d user changes, %d group changes, %d memberships to add, %d to remove, %d rejected, %d users and %d groups unchanged\n",
		p.Mode, len(p.Users), len(p.Groups), adds, removes, len(p.Rejected), p.SameUsers, p.SameGroups)
	if p.Safety != nil {
		fmt.Fprintf(w, "SAFETY STOP: %s\n", p.Safety.Reason)
	}
	writeGuards(w, p)
}

// writePlanCSV writes one row per planned change, field or member, for a
// spreadsheet: object, action, name, dn, external_id, field, old, new. A
// safety stop is a last row of object "safety_stop".
func writePlanCSV(w io.Writer, p *agent.Plan) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"object", "action", "name", "dn", "external_id", "field", "old", "new"}}
	for _, c := range p.Users {
		changes := userFieldChanges(c)
		if len(changes) == 0 {
			rows = append(rows, []string{"user", userVerb(c), c.Fields.Username, c.DN, c.ExternalID, "", "", ""})
		}
		for _, f := range changes {
			rows = append(rows, []string{"user", userVerb(c), c.Fields.Username, c.DN, c.ExternalID, f.Field, f.Old, f.New})
		}
	}
	for _, c := range p.Groups {
		changes := groupFieldChanges(c)
		if len(changes) == 0 {
			rows = append(rows, []string{"group", string(c.Action), c.Name, c.DN, c.ExternalID, "", "", ""})
		}
		for _, f := range changes {
			rows = append(rows, []string{"group", string(c.Action), c.Name, c.DN, c.ExternalID, f.Field, f.Old, f.New})
		}
	}
	for _, m := range p.Members {
		for _, e := range m.Add {
			rows = append(rows, []string{"membership", "add", m.GroupName, "", e, "member", "", memberName(p, e)})
		}
		for _, e := range m.Remove {
			rows = append(rows, []string{"membership", "remove", m.GroupName, "", e, "member", memberName(p, e), ""})
		}
	}
	for _, r := range p.Rejected {
		rows = append(rows, []string{string(r.Object), "rejected " + string(r.Action), "", r.DN, r.ExternalID, "reason", "", r.Reason})
	}
	if p.Safety != nil {
		rows = append(rows, []string{"safety_stop", "stop", "", "", "", "removals", "", strconv.Itoa(p.Safety.Removals) + ": " + p.Safety.Reason})
	}
	for _, r := range rows {
		for i, v := range r {
			r[i] = csvSafe(v)
		}
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// csvSafe keeps a directory value from being read as a formula by a
// spreadsheet (CSV injection): a leading =, +, -, @, tab or CR gets a '.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
