package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with (or worth noting about) a configuration.
type Problem struct {
	// Line is the 1-based line in the file the problem refers to; 0 when
	// unknown (for example a required key that is absent from the document
	// root, or a Config built in code).
	Line int
	// Key is the dotted key path, such as "ldap.hosts[1]"; empty when the
	// problem concerns the document as a whole.
	Key string
	// Msg says what is wrong and, where possible, how to fix it.
	Msg string
}

// String formats the problem as "line N: key.path: message", leaving out the
// parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem found in a configuration. Load, Parse and
// Validate return it (as error) so that callers can print the problems one
// per line:
//
//	var cerr *config.Error
//	if errors.As(err, &cerr) {
//		for _, p := range cerr.Problems {
//			fmt.Println(p)
//		}
//	}
type Error struct {
	// File is the configuration file, when known.
	File string
	// Problems holds at least one problem, ordered by line; problems
	// without a line come last.
	Problems []Problem
}

// Error joins the problems, one per line, each prefixed by the file name
// when it is known.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.File != "" {
			b.WriteString(e.File)
			b.WriteString(": ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects problems and maps key paths to lines.
type problems struct {
	lines map[string]int
	list  []Problem
}

// add records a problem for key, using the line of key (or of its closest
// ancestor present in the document).
func (ps *problems) add(key, format string, args ...any) {
	ps.list = append(ps.list, Problem{Line: lineOf(ps.lines, key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// err returns nil when there are no problems and an *Error otherwise.
func (ps *problems) err(file string) error {
	if len(ps.list) == 0 {
		return nil
	}
	return &Error{File: file, Problems: sortProblems(ps.list)}
}

// sortProblems orders problems by line, keeping the order of detection for
// equal lines; problems without a line go last.
func sortProblems(list []Problem) []Problem {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].Line, list[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
	return list
}

// lineOf returns the line of key, or of its nearest ancestor that appears
// in the document, or 0.
func lineOf(lines map[string]int, key string) int {
	for key != "" {
		if l, ok := lines[key]; ok {
			return l
		}
		key = parentKey(key)
	}
	return 0
}

// parentKey strips the last segment from a key path: "a.b[2]" -> "a.b",
// "a.b" -> "a", "a" -> "".
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}
