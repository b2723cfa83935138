package agent

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/idsync/idsync/internal/directory"
	"github.com/idsync/idsync/internal/emulator"
)

// lookupDir is a fakeDir that also looks objects up whatever the scope and
// reads the groups' direct links.
type lookupDir struct {
	*fakeDir
	links []directory.Links
	facts map[string][]directory.ObjectFacts
}

func (d lookupDir) Snapshot(ctx context.Context) (*directory.Snapshot, error) {
	s, err := d.fakeDir.Snapshot(ctx)
	if s != nil {
		s.Graph.Links = d.links
	}
	return s, err
}

func (d lookupDir) Lookup(_ context.Context, ref string) ([]directory.ObjectFacts, error) {
	return d.facts[ref], nil
}

func TestExplain(t *testing.T) {
	var src lookupDir
	r := newRig(t, emulator.Options{NoMinInterval: true}, func(o *Options) {
		o.NewSource = func(SyncSettings) (Source, error) { return src, nil }
	})
	ann := dirUser(1)
	admin := directory.ObjectFacts{Kind: directory.KindUser, DN: "CN=Administrator,CN=Users,DC=corp,DC=test", ExternalID: "admin-guid",
		Selected: true, System: "a critical system object", InOUScope: true, Enabled: true}
	src = lookupDir{fakeDir: r.dir,
		links: []directory.Links{
			{GroupID: "g-eng", InScope: true, Direct: []string{"g-backend"}},
			{GroupID: "g-backend", InScope: true, Direct: []string{ann.ExternalID}},
		},
		facts: map[string][]directory.ObjectFacts{
			ann.Username:    {{Kind: directory.KindUser, DN: ann.DN, ExternalID: ann.ExternalID, Selected: true, InOUScope: true, Enabled: true}},
			"Administrator": {admin},
		}}
	r.dir.set(func(d *fakeDir) {
		d.users = []directory.User{ann}
		d.groups = []directory.Group{
			{ExternalID: "g-eng", Name: "Engineering", Members: []string{ann.ExternalID}},
			{ExternalID: "g-backend", Name: "Backend", Members: []string{ann.ExternalID}},
		}
	})
	job, err := r.agent.RunCycle(t.Context(), CycleOptions{})
	if err != nil {
		t.Fatal(err)
	}

	ex, err := r.agent.Explain(t.Context(), ann.Username)
	if err != nil {
		t.Fatal(err)
	}
	var ms []string
	for _, m := range ex.Memberships {
		ms = append(ms, m.String())
	}
	if want := []string{"Backend (direct)", "Engineering (via Backend)"}; !slices.Equal(ms, want) {
		t.Errorf("memberships %q, want %q", ms, want)
	}
	if !ex.Found || !ex.InScope || ex.Directory == nil || ex.Directory.ExternalID != ann.ExternalID ||
		!slices.Contains(ex.Scope, "in scope: the directory read selects it") {
		t.Errorf("in-scope user: found %v in scope %v directory %+v scope %q", ex.Found, ex.InScope, ex.Directory, ex.Scope)
	}
	if ex.LastJob == nil || ex.LastJob.ID != job.ID || ex.LastJob.Object.Action != "create" || ex.LastJob.Trigger != job.TriggerType {
		t.Errorf("last job %+v (note %q), want the create of job %s", ex.LastJob, ex.LastJobNote, job.ID)
	}

	ex, err = r.agent.Explain(t.Context(), "Administrator")
	if err != nil {
		t.Fatal(err)
	}
	if ex.Found || ex.Directory == nil || ex.ExternalID != "admin-guid" || ex.LastJob != nil || ex.LastJobNote == "" ||
		!slices.ContainsFunc(ex.Scope, func(l string) bool { return strings.HasPrefix(l, "never synchronized: it is a critical system object") }) ||
		ex.Scope[len(ex.Scope)-1] != "out of scope" {
		t.Errorf("system object: %+v", ex)
	}

	ex, err = r.agent.Explain(t.Context(), "nobody")
	if err != nil || ex.Found || ex.Directory != nil || !strings.Contains(strings.Join(ex.Scope, "\n"), "no directory object matches") {
		t.Errorf("unknown object: %+v, %v", ex, err)
	}
}
