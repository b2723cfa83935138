package agent

import (
	"strings"
	"unicode"
)

// Cyrillic group names are transliterated to Latin by the table of ICAO
// Doc 9303 "Machine Readable Travel Documents", Part 3, section 6
// ("Transliteration of Cyrillic characters"): the standard Russian
// passports have used since 2014 and Ukrainian, Belarusian and Kazakh
// travel documents follow. Its general column applies unless the name is
// recognised as Ukrainian or Belarusian (see cyrillicLanguage), whose
// exceptions the same table lists.
var icao9303 = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e",
	'ж': "zh", 'з': "z", 'и': "i", 'і': "i", 'й': "i", 'к': "k", 'л': "l",
	'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t",
	'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh",
	'щ': "shch", 'ы': "y", 'ъ': "ie", 'ь': "", 'э': "e", 'ю': "iu", 'я': "ia",
	// Letters of other Cyrillic alphabets in the same table.
	'ѵ': "y", 'ґ': "g", 'ў': "u", 'ѫ': "u", 'ѓ': "g", 'ђ': "d", 'ѕ': "dz",
	'ј': "j", 'ќ': "k", 'љ': "lj", 'њ': "nj", 'ћ': "c", 'џ': "dz", 'є': "ie",
	'ї': "i",
}

// kazakhLetters are the Kazakh letters ICAO Doc 9303 does not list. They
// take the value of the letter they are built on (Ә as А, Ғ as Г, ...),
// Һ the sound it writes; this is idsync's choice, not the standard's.
var kazakhLetters = map[rune]string{
	'ә': "a", 'ғ': "g", 'қ': "k", 'ң': "n", 'ө': "o", 'ұ': "u", 'ү': "u", 'һ': "h",
}

// Language exceptions of the ICAO Doc 9303 table.
var (
	ukrainianICAO  = map[rune]string{'и': "y"}
	belarusianICAO = map[rune]string{'г': "h", 'ё': "io"}
)

// cyrillicLanguage guesses, from its letters, whether a name is Ukrainian
// ("uk") or Belarusian ("be"), the two languages with exceptions in the
// table; "" means the general column. Ў is only Belarusian; Є, Ї and Ґ only
// Ukrainian; І is both (and Kazakh): with Ы, Э or Ё it is Belarusian,
// otherwise Ukrainian. A name with a Kazakh letter is Kazakh.
func cyrillicLanguage(s string) string {
	has := func(letters string) bool { return strings.ContainsAny(strings.ToLower(s), letters) }
	switch {
	case has("әғқңөұүһ"):
		return ""
	case has("ў"):
		return "be"
	case has("єїґ"):
		return "uk"
	case has("і") && has("ыэё"):
		return "be"
	case has("і"):
		return "uk"
	}
	return ""
}

// TransliterateCyrillic replaces the Cyrillic letters of s by their Latin
// transliteration under ICAO Doc 9303 and leaves every other character as
// it is. A capital letter written with several Latin letters is capitalised
// ("Ю" -> "Iu"), or written in capitals within a word in capitals
// ("ЮЛ" -> "IUL").
func TransliterateCyrillic(s string) string {
	if !hasCyrillic(s) {
		return s
	}
	var exc map[rune]string
	switch cyrillicLanguage(s) {
	case "uk":
		exc = ukrainianICAO
	case "be":
		exc = belarusianICAO
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		lower := unicode.ToLower(r)
		lat, ok := exc[lower]
		if !ok {
			lat, ok = icao9303[lower]
		}
		if !ok {
			lat, ok = kazakhLetters[lower]
		}
		if !ok {
			b.WriteRune(r)
			continue
		}
		if lat == "" || lower == r {
			b.WriteString(lat)
			continue
		}
		if allCapsAt(rs, i) {
			b.WriteString(strings.ToUpper(lat))
		} else {
			b.WriteString(strings.ToUpper(lat[:1]) + lat[1:])
		}
	}
	return b.String()
}

func hasCyrillic(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Cyrillic, r) {
			return true
		}
	}
	return false
}

// allCapsAt reports whether the capital letter at i stands in a word
// written in capitals: the next letter is a capital too, or there is no
// next letter in the word and the previous one is a capital.
func allCapsAt(rs []rune, i int) bool {
	if i+1 < len(rs) && unicode.IsLetter(rs[i+1]) {
		return unicode.IsUpper(rs[i+1])
	}
	return i > 0 && unicode.IsUpper(rs[i-1])
}
