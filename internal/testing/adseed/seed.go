package adseed

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
)

// ErrAlreadySeeded is returned by Seed when the dataset's scope OU exists
// and SeedOptions.Replace is false.
var ErrAlreadySeeded = errors.New("dataset already present")

// SeedOptions tunes Seed. The zero value is usable.
type SeedOptions struct {
	// Workers is the number of parallel LDAP connections; zero means 4.
	Workers int
	// MemberBatch is the number of member values added per Modify; zero
	// means 1000.
	MemberBatch int
	// Replace removes an existing copy of the dataset first; when false an
	// existing scope OU makes Seed fail with ErrAlreadySeeded.
	Replace bool
	// Logger receives progress; nil means no logging.
	Logger *zap.Logger
}

// Stats reports what Seed created and how long each phase took.
type Stats struct {
	OUs, Users, Groups, Members, Computers int
	Remove, Create, Memberships, Total     time.Duration
}

// Seed creates ds in the directory reachable through t: OUs, users (without
// passwords unless User.Password is set; userAccountControl 512 or 514), groups, memberships (batched
// Modify per group), custom primary groups and computer accounts.
func Seed(ctx context.Context, t Target, ds *Dataset, opts SeedOptions) (Stats, error) {
	start := time.Now()
	var st Stats
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("profile", ds.Profile))
	workers := opts.Workers
	if workers <= 0 {
		workers = 4
	}
	batch := opts.MemberBatch
	if batch <= 0 {
		batch = 1000
	}
	pool, err := newConnPool(ctx, t, workers)
	if err != nil {
		return st, fmt.Errorf("seed %s: %w", ds.Profile, err)
	}
	defer pool.close()

	conn := pool.get()
	exists, err := entryExists(conn, ds.Scope)
	pool.put(conn)
	if err != nil {
		return st, fmt.Errorf("seed %s: %w", ds.Profile, err)
	}
	if exists {
		if !opts.Replace {
			return st, fmt.Errorf("seed %s: %s: %w", ds.Profile, ds.Scope, ErrAlreadySeeded)
		}
		t0 := time.Now()
		if err := remove(ctx, pool, ds); err != nil {
			return st, fmt.Errorf("seed %s: %w", ds.Profile, err)
		}
		st.Remove = time.Since(t0)
		log.Info("removed existing dataset", zap.Duration("took", st.Remove))
	}

	t0 := time.Now()
	conn = pool.get()
	for _, ou := range ds.OUs {
		if err := conn.Add(ouAdd(ou)); err != nil {
			pool.put(conn)
			return st, fmt.Errorf("seed %s: add ou %s: %w", ds.Profile, ou.DN, err)
		}
		st.OUs++
	}
	pool.put(conn)

	var done atomic.Int64
	err = pool.each(ctx, len(ds.Users), func(c *ldap.Conn, i int) error {
		if err := c.Add(userAdd(ds.Users[i])); err != nil {
			return fmt.Errorf("add user %s: %w", ds.Users[i].DN, err)
		}
		if n := done.Add(1); n%2000 == 0 {
			log.Info("users created", zap.Int64("done", n), zap.Int("total", len(ds.Users)))
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("seed %s: %w", ds.Profile, err)
	}
	st.Users = len(ds.Users)
	err = pool.each(ctx, len(ds.Groups), func(c *ldap.Conn, i int) error {
		if err := c.Add(groupAdd(ds.Groups[i])); err != nil {
			return fmt.Errorf("add group %s: %w", ds.Groups[i].DN, err)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("seed %s: %w", ds.Profile, err)
	}
	st.Groups = len(ds.Groups)
	err = pool.each(ctx, len(ds.Computers), func(c *ldap.Conn, i int) error {
		if err := c.Add(computerAdd(ds.Computers[i])); err != nil {
			return fmt.Errorf("add computer %s: %w", ds.Computers[i].DN, err)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("seed %s: %w", ds.Profile, err)
	}
	st.Computers = len(ds.Computers)
	st.Create = time.Since(t0)
	log.Info("objects created", zap.Int("users", st.Users), zap.Int("groups", st.Groups), zap.Duration("took", st.Create))

	if err := seedMemberships(ctx, pool, ds, batch, &st); err != nil {
		return st, err
	}
	st.Total = time.Since(start)
	log.Info("memberships added", zap.Int("values", st.Members), zap.Duration("took", st.Memberships))
	return st, nil
}

// SeedMemberships adds the member values and custom primary groups of ds,
// whose objects already exist (loaded by WriteLDIF's output), as Seed does.
func SeedMemberships(ctx context.Context, t Target, ds *Dataset, opts SeedOptions) (Stats, error) {
	var st Stats
	workers, batch := opts.Workers, opts.MemberBatch
	if workers <= 0 {
		workers = 4
	}
	if batch <= 0 {
		batch = 1000
	}
	pool, err := newConnPool(ctx, t, workers)
	if err != nil {
		return st, fmt.Errorf("seed memberships %s: %w", ds.Profile, err)
	}
	defer pool.close()
	err = seedMemberships(ctx, pool, ds, batch, &st)
	st.Total = st.Memberships
	return st, err
}

func seedMemberships(ctx context.Context, pool *connPool, ds *Dataset, batch int, st *Stats) error {
	t0 := time.Now()
	n, err := addMemberships(ctx, pool, ds, batch)
	if err != nil {
		return fmt.Errorf("seed %s: %w", ds.Profile, err)
	}
	st.Members = n
	if err := setPrimaryGroups(ctx, pool, ds); err != nil {
		return fmt.Errorf("seed %s: %w", ds.Profile, err)
	}
	st.Memberships = time.Since(t0)
	return nil
}

func ouAdd(ou OU) *ldap.AddRequest {
	req := ldap.NewAddRequest(ou.DN, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	addIf(req, "description", ou.Description)
	return req
}

func groupAdd(g Group) *ldap.AddRequest {
	req := ldap.NewAddRequest(g.DN, nil)
	req.Attribute("objectClass", []string{"group"})
	req.Attribute("sAMAccountName", []string{g.SAMAccountName})
	addIf(req, "description", g.Description)
	return req
}

func computerAdd(m Computer) *ldap.AddRequest {
	req := ldap.NewAddRequest(m.DN, nil)
	req.Attribute("objectClass", []string{"computer"})
	req.Attribute("sAMAccountName", []string{m.SAMAccountName})
	req.Attribute("userAccountControl", []string{strconv.Itoa(UACComputer)})
	return req
}

// userAdd builds the Add request of u.
func userAdd(u User) *ldap.AddRequest {
	req := ldap.NewAddRequest(u.DN, nil)
	req.Attribute("objectClass", []string{"user"})
	req.Attribute("sAMAccountName", []string{u.SAMAccountName})
	addIf(req, "userPrincipalName", u.UPN)
	addIf(req, "givenName", u.GivenName)
	addIf(req, "sn", u.Surname)
	addIf(req, "displayName", u.DisplayName)
	addIf(req, "mail", u.Mail)
	addIf(req, "telephoneNumber", u.Telephone)
	addIf(req, "employeeID", u.EmployeeID)
	addIf(req, "department", u.Department)
	addIf(req, "title", u.Title)
	addIf(req, "company", u.Company)
	req.Attribute("userAccountControl", []string{strconv.Itoa(u.UserAccountControl())})
	if !u.AccountExpires.IsZero() {
		req.Attribute("accountExpires", []string{strconv.FormatInt(FileTime(u.AccountExpires), 10)})
	}
	if u.Password != "" {
		req.Attribute("unicodePwd", []string{unicodePwd(u.Password)})
	}
	return req
}

// unicodePwd encodes a password as AD expects it: the quoted password in
// UTF-16LE.
func unicodePwd(pw string) string {
	var b []byte
	for _, r := range utf16.Encode([]rune(`"` + pw + `"`)) {
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

func addIf(req *ldap.AddRequest, attr, value string) {
	if value != "" {
		req.Attribute(attr, []string{value})
	}
}

// addMemberships adds every group's members, plus users that will get the
// group as primary group (AD requires membership first), in batches.
func addMemberships(ctx context.Context, pool *connPool, ds *Dataset, batch int) (int, error) {
	jobs, total := memberJobs(ds, batch)
	// Batches of one group may run concurrently: each adds distinct values.
	err := pool.each(ctx, len(jobs), func(c *ldap.Conn, i int) error {
		req := ldap.NewModifyRequest(jobs[i].dn, nil)
		req.Add("member", jobs[i].values)
		if err := c.Modify(req); err != nil {
			return fmt.Errorf("add %d members to %s: %w", len(jobs[i].values), jobs[i].dn, err)
		}
		return nil
	})
	return total, err
}

// memberJob adds values to the member attribute of group dn.
type memberJob struct {
	dn     string
	values []string
}

// memberJobs splits every group's members, plus the users that will get the
// group as primary group, into batches; total counts the values.
func memberJobs(ds *Dataset, batch int) (jobs []memberJob, total int) {
	primary := map[string][]string{}
	for _, u := range ds.Users {
		if u.PrimaryGroup != "" {
			k := strings.ToLower(u.PrimaryGroup)
			primary[k] = append(primary[k], u.DN)
		}
	}
	for _, g := range ds.Groups {
		values := append(append([]string(nil), g.Members...), primary[strings.ToLower(g.DN)]...)
		for len(values) > 0 {
			n := min(batch, len(values))
			jobs = append(jobs, memberJob{dn: g.DN, values: values[:n]})
			total += n
			values = values[n:]
		}
	}
	return jobs, total
}

// setPrimaryGroups sets primaryGroupID of users with a custom primary group.
func setPrimaryGroups(ctx context.Context, pool *connPool, ds *Dataset) error {
	var users []User
	for _, u := range ds.Users {
		if u.PrimaryGroup != "" {
			users = append(users, u)
		}
	}
	rids := map[string]uint32{}
	conn := pool.get()
	defer pool.put(conn)
	for _, u := range users {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("set primary groups: %w", err)
		}
		k := strings.ToLower(u.PrimaryGroup)
		rid, ok := rids[k]
		if !ok {
			var err error
			if rid, err = groupRID(conn, u.PrimaryGroup); err != nil {
				return err
			}
			rids[k] = rid
		}
		req := ldap.NewModifyRequest(u.DN, nil)
		req.Replace("primaryGroupID", []string{strconv.FormatUint(uint64(rid), 10)})
		if err := conn.Modify(req); err != nil {
			return fmt.Errorf("set primary group of %s: %w", u.DN, err)
		}
	}
	return nil
}

// groupRID reads the RID (last sub-authority of objectSid) of a group.
func groupRID(conn *ldap.Conn, dn string) (uint32, error) {
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, "(objectClass=group)", []string{"objectSid"}, nil))
	if err != nil {
		return 0, fmt.Errorf("read objectSid of %s: %w", dn, err)
	}
	if len(res.Entries) != 1 {
		return 0, fmt.Errorf("read objectSid of %s: %d entries", dn, len(res.Entries))
	}
	sid := res.Entries[0].GetRawAttributeValue("objectSid")
	if len(sid) < 12 {
		return 0, fmt.Errorf("read objectSid of %s: %d bytes", dn, len(sid))
	}
	return binary.LittleEndian.Uint32(sid[len(sid)-4:]), nil
}

func entryExists(conn *ldap.Conn, dn string) (bool, error) {
	_, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if isCode(err, ldap.LDAPResultNoSuchObject) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up %s: %w", dn, err)
	}
	return true, nil
}
