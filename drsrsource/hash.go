package drsrsource

import (
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/oiweiwei/go-msrpc/midl/uuid"
	"github.com/oiweiwei/go-msrpc/msrpc/dtyp"
)

// NTHash is an account's NT hash (MD4 of the UTF-16LE password), the
// AD_MD4 value of Identity Hub. It never prints: String, Format, JSON and
// slog show "<nt-hash>". Hex gives the value for the API call; Wipe zeroes
// it as soon as it is no longer needed.
type NTHash struct{ b [16]byte }

const redacted = "<nt-hash>"

// Hex returns the lower-case hex form sent as password_hash.
func (h *NTHash) Hex() string { return hex.EncodeToString(h.b[:]) }

// Wipe zeroes the hash.
func (h *NTHash) Wipe() { clear(h.b[:]) }

// IsZero reports whether the hash is all zeros (wiped or unset).
func (h *NTHash) IsZero() bool { return h.b == [16]byte{} }

// String never returns the hash.
func (h NTHash) String() string { return redacted }

// GoString never returns the hash.
func (h NTHash) GoString() string { return redacted }

// Format never prints the hash, whatever the verb.
func (h NTHash) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON never encodes the hash.
func (h NTHash) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText never encodes the hash.
func (h NTHash) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue never logs the hash.
func (h NTHash) LogValue() slog.Value { return slog.StringValue(redacted) }

// Account is an in-scope account whose password changed. It carries no
// secret; Hashes fetches the secret of the accounts the caller chooses.
type Account struct {
	// ExternalID is the objectGUID in canonical UUID text form, the anchor
	// the AD_SYNC cycle uses.
	ExternalID string
	// DN is the distinguished name at replication time.
	DN string
	// MustChange is true when pwdLastSet is 0 (the user must change the
	// password at next logon).
	MustChange bool

	guid [16]byte
	rid  uint32
}

// Secret is an account's password hash, valid until the callback that
// received it returns: the hash is wiped right after.
type Secret struct {
	Account
	Hash NTHash
}

// AccountFor returns the Account of an external id (canonical objectGUID
// text), to fetch its hash with Hashes without a replication pass: for a
// user about to be created, or one whose update must be retried.
func AccountFor(externalID string) (Account, error) {
	u, err := uuid.Parse(externalID)
	if err != nil {
		return Account{}, fmt.Errorf("drsr: external id %q: %w", externalID, err)
	}
	return Account{ExternalID: externalID, guid: guidBytes(dtyp.GUIDFromUUID(u))}, nil
}

// NewNTHash returns the hash of 16 raw bytes, for other hash sources and
// for tests. The caller should clear b afterwards.
func NewNTHash(b []byte) (NTHash, error) {
	var h NTHash
	if len(b) != len(h.b) {
		return NTHash{}, fmt.Errorf("drsr: an NT hash has 16 bytes, not %d", len(b))
	}
	copy(h.b[:], b)
	return h, nil
}
