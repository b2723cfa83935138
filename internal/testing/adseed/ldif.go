package adseed

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/go-ldap/ldap/v3"
)

// WriteLDIF writes ds as the LDAP seeding adds it, for a bulk load into a
// stopped DC's database (scripts/samba-dc.sh seed --offline): the same Add
// requests (OUs, users, groups, computers) and, with members, the member
// values of each group (with the users that get it as primary group) as
// Modify records. primaryGroupID needs the groups' RIDs, which only exist
// once they are added: with members, primary receives one "user DN<TAB>group
// DN" line per user with a custom primary group, for the loader to set
// after the adds. Without members, SeedMemberships adds both over LDAP.
func WriteLDIF(ldif, primary io.Writer, ds *Dataset, members bool) error {
	w := bufio.NewWriterSize(ldif, 1<<16)
	var reqs []*ldap.AddRequest
	for _, ou := range ds.OUs {
		reqs = append(reqs, ouAdd(ou))
	}
	for _, u := range ds.Users {
		reqs = append(reqs, userAdd(u))
	}
	for _, g := range ds.Groups {
		reqs = append(reqs, groupAdd(g))
	}
	for _, m := range ds.Computers {
		reqs = append(reqs, computerAdd(m))
	}
	for _, r := range reqs {
		writeLine(w, "dn", r.DN)
		writeLine(w, "changetype", "add")
		for _, a := range r.Attributes {
			for _, v := range a.Vals {
				writeLine(w, a.Type, v)
			}
		}
		w.WriteByte('\n')
	}
	var jobs []memberJob
	if members {
		jobs, _ = memberJobs(ds, 1000)
	}
	for _, j := range jobs {
		writeLine(w, "dn", j.dn)
		writeLine(w, "changetype", "modify")
		writeLine(w, "add", "member")
		for _, v := range j.values {
			writeLine(w, "member", v)
		}
		w.WriteString("-\n\n")
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write ldif: %w", err)
	}
	if !members {
		return nil
	}
	p := bufio.NewWriter(primary)
	for _, u := range ds.Users {
		if u.PrimaryGroup != "" {
			fmt.Fprintf(p, "%s\t%s\n", u.DN, u.PrimaryGroup)
		}
	}
	if err := p.Flush(); err != nil {
		return fmt.Errorf("write primary groups: %w", err)
	}
	return nil
}

// writeLine writes one attribute line, base64-encoded unless the value is
// an LDIF SAFE-STRING (RFC 2849). Lines are not folded.
func writeLine(w *bufio.Writer, attr, value string) {
	if safeString(value) {
		fmt.Fprintf(w, "%s: %s\n", attr, value)
		return
	}
	fmt.Fprintf(w, "%s:: %s\n", attr, base64.StdEncoding.EncodeToString([]byte(value)))
}

func safeString(v string) bool {
	if v == "" {
		return true
	}
	switch v[0] {
	case ' ', ':', '<':
		return false
	}
	if v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}
