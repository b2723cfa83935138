package bench

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/internal/testing/adseed"
)

// changeSet is a reversible set of directory changes: a share of the users
// get a new title, and a share of the direct memberships are removed or
// added (half each).
type changeSet struct {
	users   []adseed.User // users whose title changes (original values)
	removes [][2]string   // {group DN, user DN} member values removed
	adds    [][2]string   // {group DN, user DN} member values added
}

// planChanges picks pct percent of the scoped users and of the member
// values, deterministically and spread over the dataset.
func planChanges(ds *adseed.Dataset, pct float64) *changeSet {
	cs := &changeSet{}
	users := ds.ScopedUsers()
	nUsers := int(math.Round(float64(len(users)) * pct / 100))
	if nUsers > 0 {
		step := len(users) / nUsers
		for i := 0; i < nUsers; i++ {
			cs.users = append(cs.users, users[i*step])
		}
	}
	isUser := map[string]bool{}
	for _, u := range users {
		isUser[strings.ToLower(u.DN)] = true
	}
	var groups []adseed.Group
	for _, g := range ds.ScopedGroups() {
		if len(g.Members) > 0 {
			groups = append(groups, g)
		}
	}
	nMembers := int(math.Round(float64(ds.MembershipCount()) * pct / 100))
	if len(groups) == 0 || nMembers == 0 {
		return cs
	}
	// Removes take the k-th user member of groups in turn; adds put the
	// user at a fixed stride from it into the next group, when absent.
	used := map[string]bool{}
	for k := 0; len(cs.removes)+len(cs.adds) < nMembers && k < 1000; k++ {
		for gi, g := range groups {
			if len(cs.removes)+len(cs.adds) >= nMembers {
				break
			}
			members := map[string]bool{}
			var userMembers []string
			for _, m := range g.Members {
				members[strings.ToLower(m)] = true
				if isUser[strings.ToLower(m)] {
					userMembers = append(userMembers, m)
				}
			}
			if (gi+k)%2 == 0 {
				if k < len(userMembers) {
					key := strings.ToLower(g.DN + "|" + userMembers[k])
					if !used[key] {
						used[key] = true
						cs.removes = append(cs.removes, [2]string{g.DN, userMembers[k]})
					}
				}
				continue
			}
			u := users[(gi*7919+k*104729)%len(users)].DN
			key := strings.ToLower(g.DN + "|" + u)
			if !members[strings.ToLower(u)] && !used[key] {
				used[key] = true
				cs.adds = append(cs.adds, [2]string{g.DN, u})
			}
		}
	}
	return cs
}

// apply makes the changes (forward) or undoes them (restore).
func (cs *changeSet) apply(ctx context.Context, t adseed.Target, restore bool) error {
	conn, err := t.Dial(ctx)
	if err != nil {
		return fmt.Errorf("directory changes: %w", err)
	}
	defer conn.Close()
	for i, u := range cs.users {
		req := ldap.NewModifyRequest(u.DN, nil)
		switch {
		case !restore:
			req.Replace("title", []string{fmt.Sprintf("Benchmark Title %d", i)})
		case u.Title == "":
			req.Delete("title", nil)
		default:
			req.Replace("title", []string{u.Title})
		}
		if err := conn.Modify(req); err != nil {
			return fmt.Errorf("directory changes: modify %s: %w", u.DN, err)
		}
	}
	for _, m := range cs.removes {
		if err := modifyMember(conn, m, !restore); err != nil {
			return err
		}
	}
	for _, m := range cs.adds {
		if err := modifyMember(conn, m, restore); err != nil {
			return err
		}
	}
	return nil
}

// modifyMember removes (or adds) the member value m[1] of group m[0].
func modifyMember(conn *ldap.Conn, m [2]string, remove bool) error {
	req := ldap.NewModifyRequest(m[0], nil)
	op := "add"
	if remove {
		op = "remove"
		req.Delete("member", []string{m[1]})
	} else {
		req.Add("member", []string{m[1]})
	}
	if err := conn.Modify(req); err != nil {
		return fmt.Errorf("directory changes: %s member %s of %s: %w", op, m[1], m[0], err)
	}
	return nil
}

func (cs *changeSet) String() string {
	return fmt.Sprintf("%d users retitled, %d member values removed, %d added", len(cs.users), len(cs.removes), len(cs.adds))
}
