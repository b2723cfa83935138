package adseed

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// TestWriteLDIF reads the LDIF back and checks it holds the LDAP seeding's
// requests: every add with its attributes, every member value, and a
// primary-group line per user with a custom primary group.
func TestWriteLDIF(t *testing.T) {
	for _, members := range []bool{true, false} {
		t.Run(fmt.Sprintf("members=%v", members), func(t *testing.T) { testWriteLDIF(t, members) })
	}
}

func testWriteLDIF(t *testing.T, members bool) {
	ds, err := Profile("test", "DC=idsync,DC=test")
	if err != nil {
		t.Fatal(err)
	}
	var ldif, primary bytes.Buffer
	if err := WriteLDIF(&ldif, &primary, ds, members); err != nil {
		t.Fatal(err)
	}
	type record struct {
		dn, changetype string
		attrs          map[string][]string
	}
	var records []record
	for _, block := range strings.Split(strings.TrimSpace(ldif.String()), "\n\n") {
		r := record{attrs: map[string][]string{}}
		for _, line := range strings.Split(block, "\n") {
			if line == "-" {
				continue
			}
			for _, c := range []byte(line) {
				if c >= 0x80 || c == '\r' || c == 0 {
					t.Fatalf("line %q is not a SAFE-STRING line (RFC 2849)", line)
				}
			}
			attr, value, ok := strings.Cut(line, ": ")
			if strings.HasSuffix(attr, ":") {
				b, err := base64.StdEncoding.DecodeString(value)
				if err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				attr, value = strings.TrimSuffix(attr, ":"), string(b)
			} else if !ok {
				t.Fatalf("malformed line %q", line)
			}
			switch attr {
			case "dn":
				r.dn = value
			case "changetype":
				r.changetype = value
			default:
				r.attrs[attr] = append(r.attrs[attr], value)
			}
		}
		records = append(records, r)
	}
	jobs, total := memberJobs(ds, 1000)
	if !members {
		jobs, total = nil, ds.MembershipCount()
	}
	if want := len(ds.OUs) + len(ds.Users) + len(ds.Groups) + len(ds.Computers) + len(jobs); len(records) != want {
		t.Fatalf("%d records, want %d", len(records), want)
	}
	i := 0
	check := func(want record) {
		t.Helper()
		got := records[i]
		i++
		if got.dn != want.dn || got.changetype != want.changetype || len(got.attrs) != len(want.attrs) {
			t.Fatalf("record %d: %s %s %v, want %s %s %v", i, got.changetype, got.dn, got.attrs, want.changetype, want.dn, want.attrs)
		}
		for k, v := range want.attrs {
			if strings.Join(got.attrs[k], "\x00") != strings.Join(v, "\x00") {
				t.Fatalf("record %d (%s): %s = %q, want %q", i, want.dn, k, got.attrs[k], v)
			}
		}
	}
	var adds []record
	addReq := func(dn string, attrs map[string][]string) {
		adds = append(adds, record{dn: dn, changetype: "add", attrs: attrs})
	}
	for _, ou := range ds.OUs {
		r := ouAdd(ou)
		m := map[string][]string{}
		for _, a := range r.Attributes {
			m[a.Type] = a.Vals
		}
		addReq(r.DN, m)
	}
	for _, u := range ds.Users {
		r := userAdd(u)
		m := map[string][]string{}
		for _, a := range r.Attributes {
			m[a.Type] = a.Vals
		}
		addReq(r.DN, m)
	}
	for _, a := range adds {
		check(a)
	}
	i = len(records) - len(jobs)
	values := 0
	for _, j := range jobs {
		check(record{dn: j.dn, changetype: "modify", attrs: map[string][]string{"add": {"member"}, "member": j.values}})
		values += len(j.values)
	}
	if !members {
		if primary.Len() != 0 {
			t.Errorf("primary list written without members: %q", primary.String())
		}
		return
	}
	if values != total || total < ds.MembershipCount() {
		t.Errorf("%d member values written, want %d (dataset %d)", values, total, ds.MembershipCount())
	}
	custom := 0
	for _, u := range ds.Users {
		if u.PrimaryGroup != "" {
			custom++
			if !strings.Contains(primary.String(), u.DN+"\t"+u.PrimaryGroup+"\n") {
				t.Errorf("no primary group line for %s", u.DN)
			}
		}
	}
	if custom == 0 || strings.Count(primary.String(), "\n") != custom {
		t.Errorf("primary list has %d lines, want %d (> 0)", strings.Count(primary.String(), "\n"), custom)
	}
}
