package adseed

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/sync/errgroup"
)

// connPool is a fixed set of bound connections shared by seeding workers.
type connPool struct {
	conns chan *ldap.Conn
	all   []*ldap.Conn
}

func newConnPool(ctx context.Context, t Target, n int) (*connPool, error) {
	p := &connPool{conns: make(chan *ldap.Conn, n)}
	for range n {
		c, err := t.Dial(ctx)
		if err != nil {
			p.close()
			return nil, err
		}
		p.all = append(p.all, c)
		p.conns <- c
	}
	return p, nil
}

func (p *connPool) get() *ldap.Conn  { return <-p.conns }
func (p *connPool) put(c *ldap.Conn) { p.conns <- c }

func (p *connPool) close() {
	for _, c := range p.all {
		c.Close()
	}
}

// each runs fn for 0..n-1 on up to len(pool) connections at once and
// returns the first error; it stops handing out work when ctx ends.
func (p *connPool) each(ctx context.Context, n int, fn func(c *ldap.Conn, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(len(p.all))
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			c := p.get()
			defer p.put(c)
			if err := gctx.Err(); err != nil {
				return err
			}
			return fn(c, i)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("seeding interrupted: %w", err)
	}
	return nil
}

// treeDeleteOID is the LDAP_SERVER_TREE_DELETE control.
const treeDeleteOID = "1.2.840.113556.1.4.805"

// remove deletes every object of ds: each top-level OU with the tree-delete
// control (after deleting users whose primary group is not Domain Users:
// AD refuses to delete a group that is still someone's primary group), then
// computers outside those OUs. Absent objects are ignored, so a partial or
// older seeding of the same profile is removed too.
func remove(ctx context.Context, p *connPool, ds *Dataset) error {
	c := p.get()
	defer p.put(c)
	del := func(dn string, ctrl []ldap.Control) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("remove dataset: %w", err)
		}
		err := c.Del(ldap.NewDelRequest(dn, ctrl))
		if err != nil && !isCode(err, ldap.LDAPResultNoSuchObject) {
			return fmt.Errorf("delete %s: %w", dn, err)
		}
		return nil
	}
	var tops []string
	for _, ou := range ds.OUs {
		if _, parent, err := splitDN(ou.DN); err == nil && strings.EqualFold(parent, ds.BaseDN) {
			tops = append(tops, ou.DN)
		}
	}
	for _, top := range tops {
		res, err := c.SearchWithPaging(ldap.NewSearchRequest(top, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(&(objectCategory=person)(objectClass=user)(!(primaryGroupID=513)))", []string{"1.1"}, nil), 500)
		if isCode(err, ldap.LDAPResultNoSuchObject) {
			continue
		}
		if err != nil {
			return fmt.Errorf("find users with a custom primary group under %s: %w", top, err)
		}
		for _, e := range res.Entries {
			if err := del(e.DN, nil); err != nil {
				return err
			}
		}
	}
	tree := []ldap.Control{ldap.NewControlString(treeDeleteOID, true, "")}
	for _, dn := range tops {
		if err := del(dn, tree); err != nil {
			return err
		}
	}
	for _, m := range ds.Computers {
		if err := del(m.DN, nil); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes the objects of ds from the directory (see Seed); objects
// already absent are ignored.
func Remove(ctx context.Context, t Target, ds *Dataset) error {
	p, err := newConnPool(ctx, t, 1)
	if err != nil {
		return fmt.Errorf("remove %s: %w", ds.Profile, err)
	}
	defer p.close()
	if err := remove(ctx, p, ds); err != nil {
		return fmt.Errorf("remove %s: %w", ds.Profile, err)
	}
	return nil
}
