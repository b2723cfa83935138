package adseed

import "math/rand/v2"

// culture is a pool of given names and surnames written in one script.
type culture struct {
	given   []string
	surname []string
	// familyFirst means the display name is "SurnameGiven" with no space (CJK).
	familyFirst bool
}

// cultures mix plain ASCII, Cyrillic, accented Latin and CJK names; the
// weights in pickCulture keep ASCII the majority, as in most directories.
var cultures = []culture{
	{
		given:   []string{"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Susan", "Daniel", "Karen", "Paul", "Nancy", "Mark", "Lisa", "Steven", "Emily", "Andrew", "Laura"},
		surname: []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "O'Brien"},
	},
	{
		given:   []string{"Иван", "Мария", "Алексей", "Ольга", "Дмитрий", "Наталья", "Сергей", "Елена", "Андрей", "Татьяна", "Юлия", "Пётр"},
		surname: []string{"Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков"},
	},
	{
		given:   []string{"José", "Zoë", "Renée", "François", "Jürgen", "Søren", "Łukasz", "Inès", "Björn", "Chloé", "Ægir", "Núria"},
		surname: []string{"García", "Müller", "Lefèvre", "Øvergård", "Nowak-Łęcka", "Dupré", "Ñúñez", "Schäfer", "Åström", "Gonçalves", "Kovač", "Čapek"},
	},
	{
		given:       []string{"伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "翔子", "健太"},
		surname:     []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "佐藤", "鈴木"},
		familyFirst: true,
	},
}

var titles = []string{"Engineer", "Senior Engineer", "Manager", "Analyst", "Accountant", "Designer", "Sales Representative", "Director", "Support Specialist", "Ведущий инженер", "Chef de projet"}

var companies = []string{"Idsync Test Corp", "Idsync Test Corp", "Idsync Test Corp", "ООО «Ромашка»", "Société Générale de Test"}

// pickCulture returns a culture: 60% ASCII, 15% Cyrillic, 15% accented, 10% CJK.
func pickCulture(r *rand.Rand) culture {
	switch n := r.IntN(100); {
	case n < 60:
		return cultures[0]
	case n < 75:
		return cultures[1]
	case n < 90:
		return cultures[2]
	default:
		return cultures[3]
	}
}

// personName returns given name, surname and display name.
func personName(r *rand.Rand) (given, surname, display string) {
	c := pickCulture(r)
	given = c.given[r.IntN(len(c.given))]
	surname = c.surname[r.IntN(len(c.surname))]
	if c.familyFirst {
		return given, surname, surname + given
	}
	return given, surname, given + " " + surname
}
