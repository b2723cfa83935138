package adseed

import (
	"context"
	"fmt"
	"strconv"

	"github.com/go-ldap/ldap/v3"
)

// Seed seeds the set's Before content (replacing a previous copy).
func (s *MutationSet) Seed(ctx context.Context, t Target, opts SeedOptions) (Stats, error) {
	opts.Replace = true
	return Seed(ctx, t, s.Before, opts)
}

// Apply performs the mutations in order over one connection.
func (s *MutationSet) Apply(ctx context.Context, t Target) error {
	return ApplyMutations(ctx, t, s.Mutations)
}

// ApplyMutations performs mutations in order over one connection.
func ApplyMutations(ctx context.Context, t Target, ms []Mutation) error {
	conn, err := t.Dial(ctx)
	if err != nil {
		return fmt.Errorf("apply mutations: %w", err)
	}
	defer conn.Close()
	for i, mu := range ms {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("apply mutations: %w", err)
		}
		if err := applyLDAP(conn, mu); err != nil {
			return fmt.Errorf("apply mutation %d (%s %s): %w", i, mu.Op, mu.DN, err)
		}
	}
	return nil
}

// Remove deletes the set's OU tree (before or after Apply).
func (s *MutationSet) Remove(ctx context.Context, t Target) error {
	return Remove(ctx, t, s.Before)
}

func applyLDAP(conn *ldap.Conn, mu Mutation) error {
	switch mu.Op {
	case OpCreateUser:
		return conn.Add(userAdd(mu.User))
	case OpModifyUser, OpRenameUser, OpMoveUser:
		dn := mu.DN
		if mu.NewDN != "" {
			rdn, parent, err := splitDN(mu.NewDN)
			if err != nil {
				return err
			}
			if _, oldParent, _ := splitDN(mu.DN); oldParent == parent {
				parent = ""
			}
			if err := conn.ModifyDN(ldap.NewModifyDNRequest(mu.DN, rdn, true, parent)); err != nil {
				return err
			}
			dn = mu.NewDN
		}
		if len(mu.Set) == 0 {
			return nil
		}
		req := ldap.NewModifyRequest(dn, nil)
		for attr, v := range mu.Set {
			if v == "" {
				req.Replace(attr, nil)
			} else {
				req.Replace(attr, []string{v})
			}
		}
		return conn.Modify(req)
	case OpDisableUser, OpEnableUser:
		uac := UACDisabled
		if mu.Op == OpEnableUser {
			uac = UACNormal
		}
		req := ldap.NewModifyRequest(mu.DN, nil)
		req.Replace("userAccountControl", []string{strconv.Itoa(uac)})
		return conn.Modify(req)
	case OpDeleteUser, OpDeleteGroup:
		return conn.Del(ldap.NewDelRequest(mu.DN, nil))
	case OpAddMembers, OpRemoveMembers:
		req := ldap.NewModifyRequest(mu.DN, nil)
		if mu.Op == OpAddMembers {
			req.Add("member", mu.Members)
		} else {
			req.Delete("member", mu.Members)
		}
		return conn.Modify(req)
	}
	return fmt.Errorf("unknown mutation %q", mu.Op)
}

// splitDN splits dn into its first RDN (escaped, as written) and the parent.
func splitDN(dn string) (rdn, parent string, err error) {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return dn[:i], dn[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("split dn %q: no parent", dn)
}
