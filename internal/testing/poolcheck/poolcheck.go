// Package poolcheck compares what an emulated Identity Hub pool holds with
// what it must hold for a seeded directory. The end-to-end tests of
// cmd/idsync and the fault suite in chaos share it.
package poolcheck

import (
	"slices"
	"strings"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/emulator"
	"github.com/idsync/idsync/internal/testing/adseed"
)

// View is what a pool holds, keyed the way the directory names it.
type View struct {
	Users  map[string]string   // username -> "full name|status"
	Groups map[string][]string // group name -> sorted member usernames
}

// Of turns an emulator dump into a View. dups lists duplicate external ids
// and group names, which a correct sync never leaves.
func Of(d emulator.Dump) (v View, dups []string) {
	v = View{Users: map[string]string{}, Groups: map[string][]string{}}
	names := map[string]string{}
	seen := map[string]bool{}
	for _, u := range d.Users {
		if u.ExternalID != "" && seen[u.ExternalID] {
			dups = append(dups, "user external id "+u.ExternalID)
		}
		seen[u.ExternalID] = true
		v.Users[u.Username] = u.FullName + "|" + u.Status
		names[u.ID] = u.Username
	}
	for _, g := range d.Groups {
		if g.ExternalID != "" && seen[g.ExternalID] {
			dups = append(dups, "group external id "+g.ExternalID)
		}
		seen[g.ExternalID] = true
		if _, ok := v.Groups[g.Name]; ok {
			dups = append(dups, "group name "+g.Name)
		}
		ms := []string{}
		for _, m := range g.Members {
			ms = append(ms, names[m])
		}
		slices.Sort(ms)
		v.Groups[g.Name] = ms
	}
	return v, dups
}

// Expected is what a pool with the given domain must hold for a dataset.
func Expected(ds *adseed.Dataset, domain string) View {
	v := View{Users: map[string]string{}, Groups: map[string][]string{}}
	byDN := map[string]string{}
	for _, u := range ds.ScopedUsers() {
		status := "SUSPENDED"
		if u.Enabled {
			status = "ACTIVE"
		}
		name := u.DisplayName
		if name == "" {
			name = strings.TrimSpace(u.GivenName + " " + u.Surname)
		}
		v.Users[Username(u.UPN, domain)] = name + "|" + status
		byDN[strings.ToLower(u.DN)] = Username(u.UPN, domain)
	}
	for _, g := range ds.ScopedGroups() {
		ms := []string{}
		for _, dn := range ds.EffectiveMembers(g.DN) {
			if n, ok := byDN[strings.ToLower(dn)]; ok {
				ms = append(ms, n)
			}
		}
		slices.Sort(ms)
		v.Groups[agent.SanitizeGroupName(g.CN)] = ms
	}
	return v
}

// Username is the pool username of a directory user: the local part of the
// UPN at the pool's domain.
func Username(upn, domain string) string {
	local, _, _ := strings.Cut(upn, "@")
	return local + "@" + domain
}

// mutatingVerbs are the method suffixes of calls that change a pool.
var mutatingVerbs = []string{"/Create", "/Update", "/Delete", "/Suspend", "/Reactivate", "/ConvertToExternal", "/CreateExternal", "/UpdateMembers"}

// Mutating counts the successful and failed calls that change the pool the
// emulator saw; session calls do not count.
func Mutating(emu *emulator.Emulator) int64 {
	var n int64
	for m, c := range emu.Stats().Calls {
		if strings.Contains(m, "Synchronization") {
			continue
		}
		for _, verb := range mutatingVerbs {
			if strings.HasSuffix(m, verb) {
				n += c
			}
		}
	}
	return n
}
