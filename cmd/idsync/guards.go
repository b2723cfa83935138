package main

import (
	"fmt"
	"io"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/config"
)

// guards turns the safety section into the agent's guards.
func guards(s config.Safety) *agent.Guards {
	return &agent.Guards{
		MaxMembershipRemovals: s.MaxMembershipRemovals, MaxMembershipRemovalPercent: s.MaxMembershipRemovalPercent,
		MaxAttributeLosses: s.MaxAttributeLosses, MaxUsernameChanges: s.MaxUsernameChanges,
		MaxGroupMemberLossPercent: s.MaxGroupMemberLossPercent, GroupMemberLossMinMembers: s.GroupMemberLossMinMembers,
	}
}

// writeGuards lists every guard the plan trips, one line each.
func writeGuards(w io.Writer, p *agent.Plan) {
	for _, g := range p.Guards {
		fmt.Fprintf(w, "GUARD %s would trip: %s\n", g.Guard, g.Reason)
	}
}
