package ldapsource

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// CheckReport is the outcome of Check: what works and what does not.
type CheckReport struct {
	// URL is the domain controller that answered (empty when none did).
	URL string
	// TLSVersion is the negotiated TLS version ("" for plain LDAP).
	TLSVersion string
	// Bound is true when the bind succeeded.
	Bound bool
	// Mechanism is the bind: "simple", "kerberos" or "windows".
	Mechanism string
	// Ticket is the Kerberos TGT in use (zero unless Mechanism is
	// "kerberos" and the bind succeeded).
	Ticket TicketInfo
	// DCHost and InvocationID identify the domain controller.
	DCHost       string
	InvocationID string
	// BaseDN is the naming context that will be read.
	BaseDN string
	// DirSync is true when the account may use DirSync (Replicating
	// Directory Changes); deltas then use DirSync in auto mode.
	DirSync bool
	// Problems lists every failure, in order; empty means all checks passed.
	Problems []string
}

// OK reports whether every check passed.
func (r CheckReport) OK() bool { return len(r.Problems) == 0 }

// Check verifies reachability, TLS, bind, the DirSync right and that every
// scope root (organizational units and filter groups) exists.
func (s *Source) Check(ctx context.Context) CheckReport {
	r := CheckReport{Mechanism: s.binder.mechanism()}
	c, err := s.connection(ctx)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r
	}
	s.mu.Lock()
	r.URL, r.Bound = s.url, true
	if s.tlsVersion != 0 {
		r.TLSVersion = tls.VersionName(s.tlsVersion)
	}
	s.mu.Unlock()
	if kb, ok := s.binder.(*kerberosBinder); ok {
		ti, err := kb.ticket()
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
		}
		r.Ticket = ti
	}
	info, err := s.readRootDSE(ctx, c)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r
	}
	r.DCHost, r.InvocationID, r.BaseDN = info.DNSHostName, info.InvocationID, s.baseDN(info)
	if err := s.probeDirSync(ctx, c, r.BaseDN); err == nil {
		r.DirSync = true
	} else if s.opts.DeltaMode == DeltaDirSync {
		r.Problems = append(r.Problems, fmt.Sprintf("dirsync configured but not available: %v", err))
	}
	for _, ou := range s.opts.Scope.OrganizationalUnits {
		req := ldap.NewSearchRequest(ou, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"objectClass"}, nil)
		if _, err := c.Search(req); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("organizational unit %q: %v", ou, err))
		}
	}
	if _, err := s.resolveScopeGroups(ctx, c, r.BaseDN); err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	return r
}
