package directory

import "time"

// ObjectFacts is what a directory holds about one object, read whatever
// the scope, with the verdicts of the rules the directory read applies
// to it. It is what `idsync explain` shows for an object the read leaves
// out.
type ObjectFacts struct {
	Kind           Kind     `json:"kind,omitempty"`
	DN             string   `json:"dn"`
	ExternalID     string   `json:"external_id"`
	SAMAccountName string   `json:"sam_account_name,omitempty"`
	Name           string   `json:"name,omitempty"`
	ObjectClasses  []string `json:"object_classes,omitempty"`
	ObjectCategory string   `json:"object_category,omitempty"`
	// Selected is true when the read's LDAP filter for users or groups
	// selects the object; Filter is that filter, or both when neither does.
	Selected bool   `json:"selected"`
	Filter   string `json:"filter"`
	// System, when not empty, is why the read never synchronizes the
	// object whatever the scope (critical system object, computer, trust
	// account).
	System string `json:"system,omitempty"`
	// InOUScope is true when the object lies under one of the configured
	// organizational units (or the whole domain is in scope); OU is the
	// one it lies under.
	InOUScope bool   `json:"in_ou_scope"`
	OU        string `json:"ou,omitempty"`
	// PrimaryGroupID is a user's primaryGroupID.
	PrimaryGroupID uint32 `json:"primary_group_id,omitempty"`
	// Enabled, ExpiresAt and LockedOut are a user's account state.
	Enabled   bool      `json:"enabled"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	LockedOut bool      `json:"locked_out,omitempty"`
	// ScopeGroups are the configured group filter values with the
	// objectGUIDs they resolve to.
	ScopeGroups []ScopeGroup `json:"scope_groups,omitempty"`
}

// ScopeGroup is one group filter value and the groups it names.
type ScopeGroup struct {
	Value       string   `json:"value"`
	ExternalIDs []string `json:"external_ids"`
}
