package agent

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/directory"
)

func TestTransliterateCyrillic(t *testing.T) {
	tests := []struct{ lang, in, want string }{
		// Russian: the general column of ICAO Doc 9303.
		{"ru", "Юридический отдел", "Iuridicheskii otdel"},
		{"ru", "Щербакова Наталья", "Shcherbakova Natalia"},
		{"ru", "Объём", "Obieem"},
		{"ru", "Хозяйственная служба", "Khoziaistvennaia sluzhba"},
		{"ru", "Цех №3", "Tsekh №3"},
		{"ru", "ЮЛ", "IUL"},
		{"ru", "ЦЕХ", "TSEKH"},
		{"ru", "Эй, ЁЖ", "Ei, EZH"},
		// Ukrainian: И is Y; Є, Ї, Ґ.
		{"uk", "Відділ кадрів", "Viddil kadriv"},
		{"uk", "Київ", "Kyiv"},
		{"uk", "Ґудзик Євген", "Gudzyk Ievgen"},
		// Belarusian: Г is H, Ё is IO; Ў.
		{"be", "Бабрыковіч Аляксандр", "Babrykovich Aliaksandr"},
		{"be", "Ігар Сыч", "Ihar Sych"},
		{"be", "Аддзел кадраў Гомель", "Addzel kadrau Homel"},
		{"be", "Мёд і соль Ўсход", "Miod i sol Uskhod"},
		// Kazakh: the letters of the Russian alphabet and І by the table,
		// its own letters by their base letter.
		{"kk", "Қаржы бөлімі", "Karzhy bolimi"},
		{"kk", "Әкімшілік", "Akimshilik"},
		{"kk", "Ұйым Үйі Һ Ғ Ң", "Uiym Uii H G N"},
		// Other scripts and Latin text are left alone.
		{"", "Sales Team", "Sales Team"},
		{"", "営業", "営業"},
	}
	for _, tt := range tests {
		if got := TransliterateCyrillic(tt.in); got != tt.want {
			t.Errorf("%s: TransliterateCyrillic(%q) = %q, want %q", tt.lang, tt.in, got, tt.want)
		}
	}
}

func TestGroupNameOverrides(t *testing.T) {
	const (
		legal = "11111111-0000-0000-0000-000000000000"
		sales = "22222222-0000-0000-0000-000000000000"
		other = "33333333-0000-0000-0000-000000000000"
	)
	groups := []directory.Group{
		{ExternalID: legal, DN: "CN=Юридический отдел,OU=Groups,DC=example,DC=com", Name: "Юридический отдел"},
		{ExternalID: sales, DN: "CN=Sales,OU=Groups,DC=example,DC=com", Name: "Sales"},
		// Its derived name is the one an override gives another group:
		// the override wins.
		{ExternalID: other, DN: "CN=legal,OU=Old,DC=example,DC=com", Name: "legal"},
	}
	settings := Settings{GroupNameOverrides: map[string]string{
		// By DN, written with other spacing and case.
		"cn=Юридический отдел, ou=groups, dc=example, dc=com": "legal",
		"SALES": "sales-dept",
		// A name key loses to a DN key.
		"Юридический отдел": "ignored",
	}}
	p := BuildPlan(Input{Mode: ModeFull, Groups: groups, Settings: settings,
		// The pool group of "legal" holds the name, which an override now
		// gives another group.
		Target: Target{Groups: []PoolGroup{{ID: "t3", ExternalID: other, Name: "legal"}}}})
	got := map[string]string{}
	for _, c := range p.Groups {
		got[c.ExternalID] = c.Name + " <- " + c.ADName
	}
	want := map[string]string{
		legal: "legal <- Юридический отдел",
		sales: "sales-dept <- Sales",
		other: "legal-33333333 <- legal",
	}
	if diff := cmp.Diff(want, got); diff != "" || len(p.Rejected) != 0 {
		t.Errorf("names (-want +got):\n%s\nrejected: %+v", diff, p.Rejected)
	}
}

func TestCyrillicGroupRenamedOnceFromExternalIDName(t *testing.T) {
	// Before transliteration a Cyrillic name was named after its external
	// id; that name is renamed to the transliterated one, once.
	const id = "6a1f0000-0000-0000-0000-000000000000"
	g := []directory.Group{{ExternalID: id, Name: "Юридический отдел"}}
	p := BuildPlan(Input{Mode: ModeFull, Groups: g,
		Target: Target{Groups: []PoolGroup{{ID: "t1", ExternalID: id, Name: "group-6a1f0000", Description: "Юридический отдел"}}}})
	want := []GroupChange{{ExternalID: id, TargetID: "t1", Action: ActionUpdate, Name: "Iuridicheskii-otdel", ADName: "Юридический отдел", PreviousName: "group-6a1f0000", Description: "Юридический отдел", Mask: []string{"name"}}}
	if diff := cmp.Diff(want, p.Groups); diff != "" {
		t.Fatalf("first plan (-want +got):\n%s", diff)
	}
	// Renamed, it stays.
	p = BuildPlan(Input{Mode: ModeFull, Groups: g,
		Target: Target{Groups: []PoolGroup{{ID: "t1", ExternalID: id, Name: "Iuridicheskii-otdel", Description: "Юридический отдел"}}}})
	if len(p.Groups) != 0 || p.SameGroups != 1 {
		t.Errorf("second plan: %+v", p.Groups)
	}
}
