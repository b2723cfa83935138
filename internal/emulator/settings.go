package emulator

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// syncServer implements SynchronizationService: the pool's synchronization
// settings and its replication tokens.
type syncServer struct {
	idp.UnimplementedSynchronizationServiceServer
	e *Emulator
}

// SetReplicationToken stores the token of one session type.
func (s syncServer) SetReplicationToken(ctx context.Context, req *idp.SetReplicationTokenRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	e.st.tokens[req.GetSessionType()] = req.GetReplicationToken()
	e.changed()
	return e.newOp(ctx, "Set replication token", &idp.SetReplicationTokenMetadata{SubjectContainerId: e.st.UserpoolID}, nil)
}

// ResetReplicationToken forgets the tokens of every session type, so the
// next sessions are FULL_SYNC.
func (s syncServer) ResetReplicationToken(ctx context.Context, req *idp.ResetReplicationTokenRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	clear(e.st.tokens)
	e.changed()
	return e.newOp(ctx, "Reset replication token", &idp.ResetReplicationTokenMetadata{SubjectContainerId: e.st.UserpoolID}, nil)
}

// GetReplicationToken returns the token of a session type ("" if none).
func (s syncServer) GetReplicationToken(ctx context.Context, req *idp.GetReplicationTokenRequest) (*idp.GetReplicationTokenResponse, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	return &idp.GetReplicationTokenResponse{ReplicationToken: e.st.tokens[req.GetSessionType()]}, nil
}

// settingsFields are the update_mask paths UpdateSynchronizationSettings accepts.
var settingsFields = []string{
	"filter", "replacement_domain", "remove_user_behavior", "synchronization_interval",
	"allow_to_capture_users", "allow_to_capture_groups", "user_attribute_mappings",
	"group_attribute_mappings", "enable_password_writeback", "ldap_settings",
}

// CreateSynchronizationSettings creates the pool's settings.
func (s syncServer) CreateSynchronizationSettings(ctx context.Context, req *idp.CreateSynchronizationSettingsRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	if e.st.settings != nil {
		return nil, status.Errorf(codes.AlreadyExists, "synchronization settings of user pool %s already exist", e.st.UserpoolID)
	}
	set := &idp.SynchronizationSettings{
		SubjectContainerId:      e.st.UserpoolID,
		Filter:                  req.GetFilter(),
		RemoveUserBehavior:      req.GetRemoveUserBehavior(),
		SynchronizationInterval: req.GetSynchronizationInterval(),
		AllowToCaptureUsers:     req.GetAllowToCaptureUsers(),
		AllowToCaptureGroups:    req.GetAllowToCaptureGroups(),
		UserAttributeMappings:   req.GetUserAttributeMappings(),
		GroupAttributeMappings:  req.GetGroupAttributeMappings(),
		CreatedAt:               timestamppb.New(e.now()),
		ReplacementDomain:       req.GetReplacementDomain(),
		EnablePasswordWriteback: req.GetEnablePasswordWriteback(),
	}
	var err error
	if set.LdapSettings, err = ldapSettingsFrom(req.GetLdapSettings()); err != nil {
		return nil, err
	}
	set = proto.Clone(set).(*idp.SynchronizationSettings)
	if err := e.checkSettings(set); err != nil {
		return nil, err
	}
	e.st.settings = set
	e.changed()
	return e.newOp(ctx, "Create synchronization settings",
		&idp.CreateSynchronizationSettingsMetadata{SubjectContainerId: e.st.UserpoolID},
		proto.Clone(set).(*idp.SynchronizationSettings))
}

// UpdateSynchronizationSettings changes the fields named in update_mask.
func (s syncServer) UpdateSynchronizationSettings(ctx context.Context, req *idp.UpdateSynchronizationSettingsRequest) (*operation.Operation, error) {
	e := s.e
	paths, err := maskPaths(req.GetUpdateMask(), settingsFields)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	if e.st.settings == nil {
		return nil, status.Errorf(codes.NotFound, "synchronization settings of user pool %s not found", e.st.UserpoolID)
	}
	set := proto.Clone(e.st.settings).(*idp.SynchronizationSettings)
	// ldap_settings has a request type of its own; every other field is
	// named and typed alike in the request and the settings.
	plain := slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return p == "ldap_settings" })
	if err := copyMasked(set, req, plain); err != nil {
		return nil, err
	}
	if slices.Contains(paths, "ldap_settings") {
		if set.LdapSettings, err = ldapSettingsFrom(req.GetLdapSettings()); err != nil {
			return nil, err
		}
	}
	if err := e.checkSettings(set); err != nil {
		return nil, err
	}
	e.st.settings = set
	e.changed()
	return e.newOp(ctx, "Update synchronization settings",
		&idp.UpdateSynchronizationSettingsMetadata{SubjectContainerId: e.st.UserpoolID},
		proto.Clone(set).(*idp.SynchronizationSettings))
}

// DeleteSynchronizationSettings removes the pool's settings.
func (s syncServer) DeleteSynchronizationSettings(ctx context.Context, req *idp.DeleteSynchronizationSettingsRequest) (*operation.Operation, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	if e.st.settings == nil {
		return nil, status.Errorf(codes.NotFound, "synchronization settings of user pool %s not found", e.st.UserpoolID)
	}
	e.st.settings = nil
	e.changed()
	return e.newOp(ctx, "Delete synchronization settings",
		&idp.DeleteSynchronizationSettingsMetadata{SubjectContainerId: e.st.UserpoolID}, nil)
}

// GetSynchronizationSettings returns the pool's settings.
func (s syncServer) GetSynchronizationSettings(ctx context.Context, req *idp.GetSynchronizationSettingsRequest) (*idp.SynchronizationSettings, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetSubjectContainerId()); err != nil {
		return nil, err
	}
	if e.st.settings == nil {
		return nil, status.Errorf(codes.NotFound, "synchronization settings of user pool %s not found", e.st.UserpoolID)
	}
	return proto.Clone(e.st.settings).(*idp.SynchronizationSettings), nil
}

// ListSupportedAttributes lists the source attributes each target accepts.
func (s syncServer) ListSupportedAttributes(ctx context.Context, req *idp.ListSupportedAttributesRequest) (*idp.ListSupportedAttributesResponse, error) {
	return supportedAttributes(req.GetFlavor()), nil
}

// checkSettings enforces the interval bounds and that DIRECT mappings use
// supported source attributes.
func (e *Emulator) checkSettings(set *idp.SynchronizationSettings) error {
	if d := set.GetSynchronizationInterval(); d != nil {
		v := d.AsDuration()
		if v < e.minInterval() || v > MaxInterval {
			return status.Errorf(codes.InvalidArgument,
				"synchronization_interval %s is outside the allowed range %s..%s", v, e.minInterval(), MaxInterval)
		}
	}
	flavor := idp.AttributesFlavor_ACTIVE_DIRECTORY
	if set.GetLdapSettings() != nil {
		flavor = idp.AttributesFlavor_GENERIC_LDAP
	}
	sup := supportedAttributes(flavor)
	for i, m := range set.GetUserAttributeMappings() {
		for _, a := range sup.UserSupportedAttributes {
			if a.TargetAttribute == m.Target {
				if err := checkMapping(fmt.Sprintf("user_attribute_mappings[%d]", i), m.Source, m.Type, a.SourceAttributes); err != nil {
					return err
				}
			}
		}
	}
	for i, m := range set.GetGroupAttributeMappings() {
		for _, a := range sup.GroupSupportedAttributes {
			if a.TargetAttribute == m.Target {
				if err := checkMapping(fmt.Sprintf("group_attribute_mappings[%d]", i), m.Source, m.Type, a.SourceAttributes); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkMapping(field, source string, typ idp.MappingType, allowed []*idp.SourceAttributes) error {
	for _, sa := range allowed {
		if sa.Type != typ {
			continue
		}
		if typ != idp.MappingType_DIRECT {
			return nil // EMPTY has no source; DIRECT_ARBITRARY_ATTRIBUTE accepts any
		}
		for _, a := range sa.Attributes {
			if strings.EqualFold(a, source) {
				return nil
			}
		}
	}
	return status.Errorf(codes.InvalidArgument, "%s: %s mapping from %q is not supported for this target", field, typ, source)
}

// ldapSettingsFrom converts the ldap_settings of a create or update request
// (nil when absent) into the settings' own message.
func ldapSettingsFrom(l proto.Message) (*idp.LdapSettings, error) {
	if !l.ProtoReflect().IsValid() {
		return nil, nil
	}
	out := &idp.LdapSettings{}
	if err := convertMessage(l, out); err != nil {
		return nil, err
	}
	return out, nil
}

// convertMessage copies src into dst by field name.
func convertMessage(src, dst proto.Message) error {
	b, err := protojson.Marshal(src)
	if err != nil {
		return status.Errorf(codes.Internal, "convert %T: %v", src, err)
	}
	if err := protojson.Unmarshal(b, dst); err != nil {
		return status.Errorf(codes.Internal, "convert %T: %v", src, err)
	}
	return nil
}

func cloneAll[T proto.Message](in []T) []T {
	var out []T
	for _, m := range in {
		out = append(out, proto.Clone(m).(T))
	}
	return out
}
