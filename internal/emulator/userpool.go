package emulator

import (
	"context"
	"crypto/rand"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// userpoolServer implements UserpoolService.Get for the one emulated pool.
type userpoolServer struct {
	idp.UnimplementedUserpoolServiceServer
	e *Emulator
}

// Get returns the emulated user pool with its organization and domain.
func (s userpoolServer) Get(ctx context.Context, req *idp.GetUserpoolRequest) (*idp.Userpool, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.checkPool(req.GetUserpoolId()); err != nil {
		return nil, err
	}
	st := e.st
	return &idp.Userpool{
		Id: st.UserpoolID, OrganizationId: st.OrganizationID, Name: "emulator",
		Description: "Identity Hub emulator user pool",
		CreatedAt:   timestamppb.New(st.CreatedAt), UpdatedAt: timestamppb.New(st.CreatedAt),
		Domains: []string{st.Domain}, Status: idp.Userpool_ACTIVE,
	}, nil
}

// generatePassword returns a random 16-character password with lower- and
// upper-case letters, digits and a special character.
func generatePassword() string {
	const (
		lower   = "abcdefghijkmnopqrstuvwxyz"
		upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		digits  = "23456789"
		special = "!#%+-=?@_"
	)
	classes := []string{lower, upper, digits, special}
	all := lower + upper + digits + special
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	pw := make([]byte, len(b))
	for i, r := range b {
		set := all
		if i < len(classes) {
			set = classes[i] // one of each class first
		}
		pw[i] = set[int(r)%len(set)]
	}
	// Move the guaranteed characters away from the front.
	perm := make([]byte, len(pw))
	rand.Read(perm)
	for i := len(pw) - 1; i > 0; i-- {
		j := int(perm[i]) % (i + 1)
		pw[i], pw[j] = pw[j], pw[i]
	}
	return string(pw)
}
