package directory

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMemberPaths(t *testing.T) {
	// eng > backend > platform > ann; sales holds ann directly; staff is
	// ann's primary group and sits in all; outside is not synchronized,
	// so eng2 > outside > ann counts only for the group filter.
	links := []Links{
		{GroupID: "eng", InScope: true, Direct: []string{"backend"}},
		{GroupID: "backend", InScope: true, Direct: []string{"platform", "bob"}},
		{GroupID: "platform", InScope: true, Direct: []string{"ann"}},
		{GroupID: "sales", InScope: true, Direct: []string{"ann", "platform"}},
		{GroupID: "staff", RID: 513, InScope: true},
		{GroupID: "all", InScope: true, Direct: []string{"staff"}},
		{GroupID: "outside", InScope: false, Direct: []string{"ann"}},
		{GroupID: "eng2", InScope: true, Direct: []string{"outside"}},
		{GroupID: "other", InScope: true, Direct: []string{"bob"}},
	}
	want := map[string]MemberPath{
		"platform": {GroupID: "platform"},
		"sales":    {GroupID: "sales"},
		"backend":  {GroupID: "backend", Via: []string{"platform"}},
		"eng":      {GroupID: "eng", Via: []string{"backend", "platform"}},
		"staff":    {GroupID: "staff", Primary: true},
		"all":      {GroupID: "all", Via: []string{"staff"}, Primary: true},
		"outside":  {GroupID: "outside"},
	}
	if diff := cmp.Diff(want, MemberPaths(links, "ann", 513, true)); diff != "" {
		t.Errorf("effective paths (-want +got):\n%s", diff)
	}
	want["eng2"] = MemberPath{GroupID: "eng2", Via: []string{"outside"}}
	if diff := cmp.Diff(want, MemberPaths(links, "ann", 513, false)); diff != "" {
		t.Errorf("filter paths (-want +got):\n%s", diff)
	}
	if got := MemberPaths(links, "nobody", 0, true); len(got) != 0 {
		t.Errorf("paths of a user in no group: %v", got)
	}
}
