package agent

// Target is what the planner knows of the pool. In a full cycle it holds
// every managed user and group and every pool user and organization group
// that could be captured; in a delta cycle only the objects the delta
// touches.
type Target struct {
	Users  []PoolUser
	Groups []PoolGroup
}
