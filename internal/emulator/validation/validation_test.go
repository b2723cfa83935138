package validation

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fieldViolations returns the fields named by err's BadRequest details,
// failing the test if err is not an InvalidArgument status carrying them
// consistently with its message.
func fieldViolations(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("Check() = %v, want an InvalidArgument status", err)
	}
	if !strings.HasPrefix(st.Message(), "Request validation error: ") {
		t.Errorf("message %q lacks the request validation prefix", st.Message())
	}
	var fields []string
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			fields = append(fields, v.GetField())
			if want := v.GetField() + ": " + v.GetDescription(); !strings.Contains(st.Message(), want) {
				t.Errorf("message %q does not contain %q", st.Message(), want)
			}
		}
	}
	if len(fields) == 0 {
		t.Fatalf("Check() = %v, without BadRequest field violations", err)
	}
	return fields
}

func createUser() *idp.CreateUserRequest {
	return &idp.CreateUserRequest{
		UserpoolId:  "pool1",
		Username:    "j.doe@example.com",
		FullName:    "John Doe",
		Email:       "j.doe@example.com",
		PhoneNumber: "+7 900 000-00-00",
		ExternalId:  "6f9619ff-8b86-d011-b42d-00c04fc964ff",
		Credentials: &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{Password: "S3cret!pass"}},
	}
}

func progress(entries, infos int) *idp.ReportSessionProgressRequest {
	r := &idp.ReportSessionProgressRequest{SessionId: "s1"}
	for range entries {
		e := &idp.ProgressEntry{ObjectType: idp.RelatedObjectType_USER}
		for range infos {
			e.ChangeInfo = append(e.ChangeInfo, &idp.ChangeInfo{ChangeType: idp.ChangeType_CREATE, Successful: 1})
		}
		r.ProgressEntries = append(r.ProgressEntries, e)
	}
	return r
}

func syncSettings() *idp.CreateSynchronizationSettingsRequest {
	return &idp.CreateSynchronizationSettingsRequest{
		SubjectContainerId:      "pool1",
		Filter:                  &idp.SynchronizationFilter{Domain: "corp.example.com", Groups: []string{"CN=Staff,DC=corp"}},
		SynchronizationInterval: durationpb.New(time.Hour),
		UserAttributeMappings: []*idp.UserAttributeMapping{
			{Source: "mail", Target: idp.UserTargetAttribute_EMAIL, Type: idp.MappingType_DIRECT},
		},
	}
}

func members(n int) *om.UpdateGroupMembersRequest {
	r := &om.UpdateGroupMembersRequest{GroupId: "g1"}
	for range n {
		r.MemberDeltas = append(r.MemberDeltas, &om.MemberDelta{Action: om.MemberDelta_ADD, SubjectId: "u1"})
	}
	return r
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "id"
	}
	return out
}

func with[T proto.Message](m T, mutate func(T)) T {
	mutate(m)
	return m
}

func TestCheck(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		msg  proto.Message
		want []string // violated field paths; nil for a valid request
	}{
		// OpenSession.
		{"open session valid", &idp.OpenSessionRequest{SubjectContainerId: "pool1", AgentId: "agent", SessionType: idp.SessionType_AD_SYNC}, nil},
		{"open session empty", &idp.OpenSessionRequest{}, []string{"subject_container_id", "agent_id", "session_type"}},
		{"open session container too long", &idp.OpenSessionRequest{SubjectContainerId: long(51), AgentId: "a", SessionType: idp.SessionType_AD_SYNC}, []string{"subject_container_id"}},
		{"open session container 50 multibyte chars", &idp.OpenSessionRequest{SubjectContainerId: strings.Repeat("я", 50), AgentId: "a", SessionType: idp.SessionType_AD_SYNC}, nil},
		{"open session agent too long", &idp.OpenSessionRequest{SubjectContainerId: "p", AgentId: long(51), SessionType: idp.SessionType_AD_SYNC}, []string{"agent_id"}},

		// ReportSessionProgress.
		{"progress valid 3x6", progress(3, 6), nil},
		{"progress no entries", progress(0, 1), []string{"progress_entries"}},
		{"progress 4 entries", progress(4, 1), []string{"progress_entries"}},
		{"progress 7 change infos", progress(2, 7), []string{"progress_entries[0].change_info", "progress_entries[1].change_info"}},
		{"progress no change info", progress(1, 0), []string{"progress_entries[0].change_info"}},
		{"progress entry without object type", with(progress(3, 1), func(r *idp.ReportSessionProgressRequest) {
			r.ProgressEntries[2].ObjectType = idp.RelatedObjectType_RELATED_OBJECT_TYPE_UNSPECIFIED
		}), []string{"progress_entries[2].object_type"}},
		{"progress without session", with(progress(1, 1), func(r *idp.ReportSessionProgressRequest) { r.SessionId = "" }), []string{"session_id"}},

		// CloseSession and Heartbeat.
		{"close valid", &idp.CloseSessionRequest{SessionId: "s1", Failed: true, FailReason: long(256)}, nil},
		{"close reason too long", &idp.CloseSessionRequest{SessionId: "s1", FailReason: long(257)}, []string{"fail_reason"}},
		{"heartbeat without session", &idp.HeartbeatRequest{}, []string{"session_id"}},

		// CreateUser.
		{"create user valid", createUser(), nil},
		{"create user with hash", with(createUser(), func(r *idp.CreateUserRequest) {
			r.Credentials = &idp.CreateUserRequest_PasswordHash{PasswordHash: &idp.PasswordHash{PasswordHash: "abc", PasswordHashType: idp.PasswordHash_AD_MD4}}
		}), nil},
		{"create user empty email passes", with(createUser(), func(r *idp.CreateUserRequest) { r.Email = "" }), nil},
		{"create user email too short", with(createUser(), func(r *idp.CreateUserRequest) { r.Email = "ab" }), []string{"email"}},
		{"create user email 255 chars", with(createUser(), func(r *idp.CreateUserRequest) { r.Email = long(255) }), []string{"email"}},
		{"create user no full name", with(createUser(), func(r *idp.CreateUserRequest) { r.FullName = "" }), []string{"full_name"}},
		{"create user full name 257", with(createUser(), func(r *idp.CreateUserRequest) { r.FullName = long(257) }), []string{"full_name"}},
		{"create user no username", with(createUser(), func(r *idp.CreateUserRequest) { r.Username = "" }), []string{"username"}},
		{"create user username without at", with(createUser(), func(r *idp.CreateUserRequest) { r.Username = "jdoe" }), []string{"username"}},
		{"create user username bad char", with(createUser(), func(r *idp.CreateUserRequest) { r.Username = "j doe@example.com" }), []string{"username"}},
		{"create user username local part 65", with(createUser(), func(r *idp.CreateUserRequest) { r.Username = long(65) + "@x" }), []string{"username"}},
		{"create user username trailing newline", with(createUser(), func(r *idp.CreateUserRequest) { r.Username = "a@b\n" }), []string{"username"}},
		{"create user phone 51", with(createUser(), func(r *idp.CreateUserRequest) { r.PhoneNumber = long(51) }), []string{"phone_number"}},
		{"create user external id 257", with(createUser(), func(r *idp.CreateUserRequest) { r.ExternalId = long(257) }), []string{"external_id"}},
		{"create user no credentials", with(createUser(), func(r *idp.CreateUserRequest) { r.Credentials = nil }), []string{"credentials"}},
		{"create user empty password", with(createUser(), func(r *idp.CreateUserRequest) {
			r.Credentials = &idp.CreateUserRequest_PasswordSpec{PasswordSpec: &idp.PasswordSpec{}}
		}), []string{"password_spec.password"}},
		{"create user hash without type", with(createUser(), func(r *idp.CreateUserRequest) {
			r.Credentials = &idp.CreateUserRequest_PasswordHash{PasswordHash: &idp.PasswordHash{PasswordHash: "abc"}}
		}), []string{"password_hash.password_hash_type"}},
		{"create user expiry in range", with(createUser(), func(r *idp.CreateUserRequest) {
			r.ExpiresAt = timestamppb.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		}), nil},
		{"create user expiry after 2105", with(createUser(), func(r *idp.CreateUserRequest) {
			r.ExpiresAt = timestamppb.New(time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC))
		}), []string{"expires_at"}},
		{"create user expiry before 1970", with(createUser(), func(r *idp.CreateUserRequest) {
			r.ExpiresAt = &timestamppb.Timestamp{Seconds: -1}
		}), []string{"expires_at"}},
		{"create user everything wrong, field order", &idp.CreateUserRequest{Username: "x", Email: "y", PhoneNumber: long(51)},
			[]string{"userpool_id", "username", "full_name", "email", "phone_number", "credentials"}},

		// UpdateUser.
		{"update user only id", &idp.UpdateUserRequest{UserId: "u1"}, nil},
		{"update user no id", &idp.UpdateUserRequest{FullName: "x"}, []string{"user_id"}},
		{"update user bad username", &idp.UpdateUserRequest{UserId: "u1", Username: "nope"}, []string{"username"}},
		{"update user good username", &idp.UpdateUserRequest{UserId: "u1", Username: "a.b-c_d@corp"}, nil},
		{"update user full name 257", &idp.UpdateUserRequest{UserId: "u1", FullName: long(257)}, []string{"full_name"}},

		// External groups.
		{"create group valid", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "Domain-Users.1", SubjectContainerId: "p", ExternalId: "x"}, nil},
		{"create group one letter", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "a", SubjectContainerId: "p", ExternalId: "x"}, nil},
		{"create group name digit first", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "1abc", SubjectContainerId: "p", ExternalId: "x"}, []string{"name"}},
		{"create group name trailing dash", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "abc-", SubjectContainerId: "p", ExternalId: "x"}, []string{"name"}},
		{"create group name space", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "Domain Users", SubjectContainerId: "p", ExternalId: "x"}, []string{"name"}},
		{"create group name 63", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: long(63), SubjectContainerId: "p", ExternalId: "x"}, nil},
		{"create group name 64", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: long(64), SubjectContainerId: "p", ExternalId: "x"}, []string{"name"}},
		{"create group external id 1025", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "g", SubjectContainerId: "p", ExternalId: long(1025)}, []string{"external_id"}},
		{"create group description 257", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "g", SubjectContainerId: "p", ExternalId: "x", Description: long(257)}, []string{"description"}},
		{"create group no external id", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "g", SubjectContainerId: "p"}, []string{"external_id"}},
		{"create group labels valid", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "g", SubjectContainerId: "p", ExternalId: "x",
			Labels: map[string]string{"env": "prod", "team": ""}}, nil},
		{"create group labels bad key and value", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "g", SubjectContainerId: "p", ExternalId: "x",
			Labels: map[string]string{"Env": "prod", "ok": "UPPER", "z": "fine"}}, []string{`labels["Env"]`, `labels["ok"]`}},
		{"update group name may be empty", &om.UpdateGroupRequest{GroupId: "g"}, nil},

		// Group members.
		{"members valid 1000", members(1000), nil},
		{"members none", members(0), []string{"member_deltas"}},
		{"members 1001", members(1001), []string{"member_deltas"}},
		{"members bad delta", with(members(3), func(r *om.UpdateGroupMembersRequest) {
			r.MemberDeltas[1].Action = om.MemberDelta_MEMBER_ACTION_UNSPECIFIED
			r.MemberDeltas[2].SubjectId = long(51)
		}), []string{"member_deltas[1].action", "member_deltas[2].subject_id"}},

		// ResolveExternalIds.
		{"resolve valid", &idp.ResolveExternalIdsRequest{UserpoolId: "p", ExternalIds: ids(1000)}, nil},
		{"resolve none", &idp.ResolveExternalIdsRequest{UserpoolId: "p"}, []string{"external_ids"}},
		{"resolve 1001", &idp.ResolveExternalIdsRequest{UserpoolId: "p", ExternalIds: ids(1001)}, []string{"external_ids"}},
		{"resolve long id", &idp.ResolveExternalIdsRequest{UserpoolId: "p", ExternalIds: []string{"a", long(257)}}, []string{"external_ids[1]"}},

		// Replication token.
		{"token valid 1000", &idp.SetReplicationTokenRequest{SubjectContainerId: "p", ReplicationToken: long(1000), SessionType: idp.SessionType_AD_SYNC}, nil},
		{"token 1001", &idp.SetReplicationTokenRequest{SubjectContainerId: "p", ReplicationToken: long(1001), SessionType: idp.SessionType_AD_SYNC}, []string{"replication_token"}},
		{"token empty", &idp.SetReplicationTokenRequest{SubjectContainerId: "p", SessionType: idp.SessionType_AD_SYNC}, []string{"replication_token"}},

		// Synchronization settings.
		{"settings valid", syncSettings(), nil},
		{"settings no filter", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) { r.Filter = nil }), []string{"filter"}},
		{"settings empty domain", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) { r.Filter.Domain = "" }), []string{"filter.domain"}},
		{"settings domain 254", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) { r.Filter.Domain = long(254) }), []string{"filter.domain"}},
		{"settings 11 groups", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) { r.Filter.Groups = ids(11) }), []string{"filter.groups"}},
		{"settings empty group", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) { r.Filter.Groups = []string{"a", ""} }), []string{"filter.groups[1]"}},
		{"settings 11 OUs", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) { r.Filter.OrganizationUnits = ids(11) }), []string{"filter.organization_units"}},
		{"settings 51 mappings", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) {
			for range 50 {
				r.UserAttributeMappings = append(r.UserAttributeMappings, r.UserAttributeMappings[0])
			}
		}), []string{"user_attribute_mappings"}},
		{"settings mapping without target", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) {
			r.GroupAttributeMappings = []*idp.GroupAttributeMapping{{Source: "cn", Type: idp.MappingType_DIRECT}}
		}), []string{"group_attribute_mappings[0].target"}},
		{"settings interval 14m", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) {
			r.SynchronizationInterval = durationpb.New(14 * time.Minute)
		}), []string{"synchronization_interval"}},
		{"settings interval 6h", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) {
			r.SynchronizationInterval = durationpb.New(6 * time.Hour)
		}), nil},
		{"settings interval 6h1ns", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) {
			r.SynchronizationInterval = durationpb.New(6*time.Hour + 1)
		}), []string{"synchronization_interval"}},
		{"settings ldap required fields", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) {
			r.LdapSettings = &idp.CreateLdapSettingsRequest{ExternalIdAttribute: "objectGUID"}
		}), []string{"ldap_settings.dn_attribute", "ldap_settings.user_object_class", "ldap_settings.group_object_class",
			"ldap_settings.account_disabled_attribute", "ldap_settings.account_disabled_value", "ldap_settings.account_enabled_value",
			"ldap_settings.password_attribute", "ldap_settings.delta_sync_mode"}},

		// ListSessions.
		{"list sessions valid", &idp.ListSessionsRequest{SubjectContainerId: "p", PageSize: 1000, Filter: long(1000)}, nil},
		{"list sessions page size 1001", &idp.ListSessionsRequest{SubjectContainerId: "p", PageSize: 1001}, []string{"page_size"}},
		{"list sessions page size negative", &idp.ListSessionsRequest{SubjectContainerId: "p", PageSize: -1}, []string{"page_size"}},
		{"list sessions filter 1001", &idp.ListSessionsRequest{SubjectContainerId: "p", Filter: long(1001)}, []string{"filter"}},

		// IAM tokens and operations.
		{"iam token jwt", &iam.CreateIamTokenRequest{Identity: &iam.CreateIamTokenRequest_Jwt{Jwt: "a.b.c"}}, nil},
		{"iam token no identity", &iam.CreateIamTokenRequest{}, []string{"identity"}},
		{"iam token jwt too long", &iam.CreateIamTokenRequest{Identity: &iam.CreateIamTokenRequest_Jwt{Jwt: long(8001)}}, []string{"jwt"}},
		{"operation get", &operation.GetOperationRequest{OperationId: "op1"}, nil},
		{"operation get empty", &operation.GetOperationRequest{}, []string{"operation_id"}},

		// A typed nil request is an empty one.
		{"nil open session", (*idp.OpenSessionRequest)(nil), []string{"subject_container_id", "agent_id", "session_type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fieldViolations(t, Check(tt.msg))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violated fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckMessages(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{"required", &idp.CloseSessionRequest{}, "Request validation error: session_id: Required"},
		{"pattern", with(createUser(), func(r *idp.CreateUserRequest) { r.Username = "nope" }),
			`Request validation error: username: The string must match pattern "[a-z0-9A-Z\\._-]{1,64}@.{1,256}"`},
		{"length", &idp.CloseSessionRequest{SessionId: "s", FailReason: strings.Repeat("é", 257)},
			"Request validation error: fail_reason: The string length must be at most 256 characters (got 257)"},
		{"size", progress(4, 1),
			"Request validation error: progress_entries: The number of elements must be between 1 and 3 (got 4)"},
		{"value", &idp.ListSessionsRequest{SubjectContainerId: "p", PageSize: 5000},
			"Request validation error: page_size: The value must be between 0 and 1000 (got 5000)"},
		{"duration", with(syncSettings(), func(r *idp.CreateSynchronizationSettingsRequest) {
			r.SynchronizationInterval = durationpb.New(time.Minute)
		}), "Request validation error: synchronization_interval: The value must be between 15m and 6h (got 1m0s)"},
		{"exactly one", with(createUser(), func(r *idp.CreateUserRequest) { r.Credentials = nil }),
			"Request validation error: credentials: Exactly one of password_spec, password_hash must be set"},
		{"heartbeat length", &idp.HeartbeatRequest{SessionId: strings.Repeat("x", 51)},
			"Request validation error: session_id: The string length must be at most 50 characters (got 51)"},
		{"map key", &om.CreateExternalGroupRequest{OrganizationId: "o", Name: "g", SubjectContainerId: "p", ExternalId: "x", Labels: map[string]string{"": "v"}},
			`Request validation error: labels[""]: The map key length must be between 1 and 63 characters (got 0)`},
		{"nil", nil, "Request validation error: request is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.msg)
			if got := status.Convert(err).Message(); got != tt.want {
				t.Errorf("message = %q\nwant      %q", got, tt.want)
			}
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("code = %v, want InvalidArgument", status.Code(err))
			}
		})
	}
}

func TestCheckCapsViolations(t *testing.T) {
	r := members(1000)
	for _, d := range r.MemberDeltas {
		d.SubjectId = ""
	}
	got := fieldViolations(t, Check(r))
	if len(got) != MaxViolations {
		t.Fatalf("got %d violations, want the cap %d", len(got), MaxViolations)
	}
	if got[0] != "member_deltas[0].subject_id" {
		t.Errorf("first violation = %q, want member_deltas[0].subject_id", got[0])
	}
	if msg := status.Convert(Check(r)).Message(); !strings.HasSuffix(msg, "further violations not reported") {
		t.Errorf("message %q does not say that violations were left out", msg)
	}
}

func TestCheckConcurrent(t *testing.T) {
	// The first Check of each type compiles and caches its rules; racing
	// first uses must agree.
	msgs := []proto.Message{createUser(), progress(1, 1), syncSettings(), members(2), &idp.ListSessionsRequest{}}
	done := make(chan error, 8*len(msgs))
	for range 8 {
		go func() {
			for _, m := range msgs {
				done <- Check(m)
			}
		}()
	}
	var invalid int
	for range 8 * len(msgs) {
		if err := <-done; err != nil {
			invalid++
		}
	}
	if invalid != 8 { // only ListSessionsRequest{} lacks its subject_container_id
		t.Errorf("got %d invalid results, want 8", invalid)
	}
}
