package directory

// Kind is the kind of object a change, a failure, a count or a cached id is
// about. Its value is the name plans, explanations and logs show.
type Kind string

// Kinds.
const (
	KindUser       Kind = "user"
	KindGroup      Kind = "group"
	KindMembership Kind = "membership"
)

func (k Kind) String() string { return string(k) }
