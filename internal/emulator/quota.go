package emulator

import (
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Quota subjects named in QuotaFailure details, one per documented quota
// (see Quotas).
const (
	quotaSubjects      = "organization-manager.subjects.count"
	quotaGroups        = "organization-manager.groups.count"
	quotaGroupMembers  = "organization-manager.groupMembers.count"
	quotaGroupsPerUser = "organization-manager.userGroups.count"
)

// quotaError is the RESOURCE_EXHAUSTED error of an exceeded quota: the
// message names it, and a google.rpc.QuotaFailure detail carries the
// violation, as Google's error model prescribes for quota failures.
func quotaError(subject, what string, limit int) error {
	desc := fmt.Sprintf("%s (limit %d)", what, limit)
	st, err := status.New(codes.ResourceExhausted, "quota exceeded: "+desc).WithDetails(&errdetails.QuotaFailure{
		Violations: []*errdetails.QuotaFailure_Violation{{Subject: subject, Description: desc}},
	})
	if err != nil {
		return status.Error(codes.ResourceExhausted, "quota exceeded: "+desc)
	}
	return st.Err()
}
