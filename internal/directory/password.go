package directory

// HashChange is an in-scope account whose password changed since a
// replication cursor. It carries no secret.
type HashChange struct {
	// ExternalID is the objectGUID in canonical UUID text form, the anchor
	// of the directory cycle.
	ExternalID string
	// MustChange is true when the user must change the password at next
	// logon (pwdLastSet 0).
	MustChange bool
}

// NTHash is an account's NT hash (the AD_MD4 value of Identity Hub). Its
// implementations never print the value; Hex gives it for the API call.
type NTHash interface {
	Hex() string
}

// PasswordHash is an account's password hash, valid only until the callback
// that received it returns: the hash is wiped right after.
type PasswordHash struct {
	ExternalID string
	MustChange bool
	Hash       NTHash
}
