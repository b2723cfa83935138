package pool

import "time"

// Settings are a pool's synchronization settings, field for field as the
// API has them. Enumerations are spelled as the API spells them.
type Settings struct {
	Filter            Filter
	ReplacementDomain string
	// RemoveUserBehavior is what happens to a user removed from the
	// directory: RemoveUser or BlockUser.
	RemoveUserBehavior RemoveUserBehavior
	// SynchronizationInterval is the pool's schedule; zero when unset.
	SynchronizationInterval time.Duration
	AllowToCaptureUsers     bool
	AllowToCaptureGroups    bool
	// UserAttributeMappings and GroupAttributeMappings override the
	// default mapping.
	UserAttributeMappings   []AttributeMapping
	GroupAttributeMappings  []AttributeMapping
	EnablePasswordWriteback bool
}

// Filter is the directory scope of the settings.
type Filter struct {
	Domain            string
	OrganizationUnits []string
	Groups            []string
}

// RemoveUserBehavior is what happens to a user removed from the directory.
type RemoveUserBehavior string

// Remove behaviours.
const (
	RemoveUser RemoveUserBehavior = "REMOVE"
	BlockUser  RemoveUserBehavior = "BLOCK"
)

// AttributeMapping maps a source attribute to a target field. Target is the
// API's name of the field (FULL_NAME, NAME, ...).
type AttributeMapping struct {
	Source string
	Target string
	Type   MappingType
}

// MappingType is how a mapping fills its target, as the API spells it.
type MappingType string

// Mapping types.
const (
	MappingEmpty                    MappingType = "EMPTY"
	MappingDirect                   MappingType = "DIRECT"
	MappingDirectArbitraryAttribute MappingType = "DIRECT_ARBITRARY_ATTRIBUTE"
)

// SupportedAttributes are the source attributes the service accepts in
// mappings, per target field (the API's name of the field).
type SupportedAttributes struct {
	User  map[string][]SourceAttributes
	Group map[string][]SourceAttributes
}

// SourceAttributes are the source attributes a target accepts with one
// mapping type.
type SourceAttributes struct {
	Type       MappingType
	Attributes []string
}
