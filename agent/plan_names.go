package agent

// memberNames returns the pool usernames of the users that p's membership
// changes add or remove, by external id: the name the plan gives a
// directory user, else the pool user's. An id with neither is left out.
func memberNames(p *Plan, in *Input) map[string]string {
	if len(p.Members) == 0 {
		return nil
	}
	want := make(map[string]bool)
	for _, m := range p.Members {
		for _, id := range m.Add {
			want[id] = true
		}
		for _, id := range m.Remove {
			want[id] = true
		}
	}
	names := make(map[string]string, len(want))
	for i := range in.Target.Users {
		if t := &in.Target.Users[i]; want[t.ExternalID] {
			names[t.ExternalID] = t.Fields.Username
		}
	}
	for i := range in.Users {
		u := &in.Users[i]
		if !want[u.ExternalID] {
			continue
		}
		if f, err := desiredUser(u, in.Settings.ReplacementDomain); err == nil {
			names[u.ExternalID] = f.Username
		}
	}
	return names
}
