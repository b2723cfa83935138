package drsrsource

import (
	"errors"
	"testing"

	"github.com/idsync/idsync/internal/directory"
)

func TestPasswordChangesUnreadableCursor(t *testing.T) {
	var c Client // the cursor is refused before the DC is asked
	_, _, err := c.PasswordChanges(t.Context(), []byte{0xff}, nil)
	if !errors.Is(err, directory.ErrFullSyncRequired) {
		t.Fatalf("err = %v; want directory.ErrFullSyncRequired", err)
	}
}

func TestAccountsFor(t *testing.T) {
	const id = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
	accs, err := accountsFor([]string{id})
	if err != nil || len(accs) != 1 || accs[0].ExternalID != id || accs[0].guid == [16]byte{} {
		t.Fatalf("accountsFor(%s) = %+v, %v", id, accs, err)
	}
	if _, err := accountsFor([]string{id, "not-a-guid"}); err == nil {
		t.Error("an id that is not a GUID is accepted")
	}
}

func TestRightErrorMissingRight(t *testing.T) {
	var re interface{ MissingRight() string }
	err := error(&RightError{Right: RightGetChangesAll, Account: "svc", Err: errors.New("denied")})
	if !errors.As(err, &re) || re.MissingRight() != RightGetChangesAll {
		t.Errorf("MissingRight of %v", err)
	}
}
