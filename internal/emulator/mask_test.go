package emulator

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestCopyMasked(t *testing.T) {
	have := &idp.SynchronizationSettings{
		Filter:                  &idp.SynchronizationFilter{Domain: "old.example"},
		ReplacementDomain:       "keep.example",
		SynchronizationInterval: durationpb.New(time.Hour),
		UserAttributeMappings:   []*idp.UserAttributeMapping{{Source: "cn", Target: idp.UserTargetAttribute_FULL_NAME}},
	}
	req := &idp.UpdateSynchronizationSettingsRequest{
		Filter:                &idp.SynchronizationFilter{Domain: "new.example", Groups: []string{"g"}},
		ReplacementDomain:     "ignored.example",
		AllowToCaptureUsers:   true,
		UserAttributeMappings: []*idp.UserAttributeMapping{{Source: "mail", Target: idp.UserTargetAttribute_EMAIL}, {Target: idp.UserTargetAttribute_PHONE_NUMBER, Type: idp.MappingType_EMPTY}},
	}
	paths := []string{"filter", "allow_to_capture_users", "user_attribute_mappings", "synchronization_interval"}
	if err := copyMasked(have, req, paths); err != nil {
		t.Fatal(err)
	}
	want := &idp.SynchronizationSettings{
		Filter:                &idp.SynchronizationFilter{Domain: "new.example", Groups: []string{"g"}},
		ReplacementDomain:     "keep.example", // not in the mask
		AllowToCaptureUsers:   true,
		UserAttributeMappings: req.UserAttributeMappings,
		// synchronization_interval is in the mask and unset in the request: cleared.
	}
	if diff := cmp.Diff(want, have, protocmp.Transform()); diff != "" {
		t.Errorf("copyMasked (-want +got):\n%s", diff)
	}
	req.Filter.Domain = "changed.example"
	req.UserAttributeMappings[0].Source = "changed"
	if have.Filter.Domain != "new.example" || have.UserAttributeMappings[0].Source != "mail" {
		t.Error("the copy shares values with the request")
	}

	u := &idp.User{Username: "a@x", FullName: "A"}
	if err := copyMasked(u, &idp.UpdateUserRequest{FullName: "B", ExpiresAt: timestamppb.New(time.Unix(0, 0))}, []string{"full_name", "expires_at"}); err != nil {
		t.Fatal(err)
	}
	if u.FullName != "B" || u.Username != "a@x" || u.ExpiresAt == nil {
		t.Errorf("user after copy: %v", u)
	}
	if err := copyMasked(&idp.SynchronizationSettings{}, &idp.UpdateSynchronizationSettingsRequest{}, []string{"ldap_settings"}); err == nil {
		t.Error("copying fields of different types succeeded")
	}
}
