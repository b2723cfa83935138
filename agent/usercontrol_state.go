package agent

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/idsync/idsync/internal/directory"
)

// Local state keys of the user-control loop. The watch list is read every
// tick and stays small; the inactive set is read only when something
// changed.
const (
	metaUCWatermark = "AD_USER_CONTROL/watermark"
	metaUCWatch     = "AD_USER_CONTROL/watch"
	metaUCInactive  = "AD_USER_CONTROL/inactive"
)

// Expiry bookkeeping: a full pass keeps the expiry times of the next
// expiryHorizon and is repeated after rescanEvery, so the kept times always
// cover the time until the next full pass.
const (
	expiryHorizon = 24 * time.Hour
	rescanEvery   = 12 * time.Hour
)

// ucWatch is what each tick looks at besides the directory's changes.
type ucWatch struct {
	// Locked are the in-scope users the directory last reported locked
	// out: a lockout ends without a write, so they are read again each
	// tick.
	Locked []string `json:"locked,omitempty"`
	// Pending are users whose suspend or reactivate failed: read again.
	Pending []string `json:"pending,omitempty"`
	// Expiries are the upcoming accountExpires times (Unix seconds) of
	// in-scope users, up to HorizonEnd: the tick that passes one
	// suspends the user.
	Expiries   map[string]int64 `json:"expiries,omitempty"`
	HorizonEnd time.Time        `json:"horizon_end"`
	// RescanAt is when the next full pass is due.
	RescanAt time.Time `json:"rescan_at"`
}

// ucState is the user-control loop's local state.
type ucState struct {
	Watermark directory.Watermark
	Watch     ucWatch
	// Inactive maps the in-scope users whose account is inactive to the
	// reason; loaded on demand (nil until then).
	Inactive map[string]string
	// fresh is true when no state was stored before.
	fresh bool
}

// loadUCState reads the watermark and the watch list.
func loadUCState(m MetaStore) (*ucState, error) {
	st := &ucState{}
	v, err := m.Meta(metaUCWatermark)
	if err != nil {
		return nil, fmt.Errorf("read the user-control watermark: %w", err)
	}
	if v == "" {
		st.fresh = true
	} else if err := st.Watermark.UnmarshalBinary([]byte(v)); err != nil {
		st.fresh, st.Watermark = true, directory.Watermark{}
	}
	if v, err = m.Meta(metaUCWatch); err != nil {
		return nil, fmt.Errorf("read the user-control watch list: %w", err)
	}
	if v != "" && json.Unmarshal([]byte(v), &st.Watch) != nil {
		st.Watch = ucWatch{}
		st.Watermark = directory.Watermark{} // read everything again
	}
	return st, nil
}

// clone copies the watermark and the watch list (not the inactive set).
func (st *ucState) clone() *ucState {
	c := &ucState{Watermark: st.Watermark, Watch: st.Watch, fresh: st.fresh}
	c.Watermark.Cookie = slices.Clone(st.Watermark.Cookie)
	c.Watch.Locked = slices.Clone(st.Watch.Locked)
	c.Watch.Pending = slices.Clone(st.Watch.Pending)
	c.Watch.Expiries = maps.Clone(st.Watch.Expiries)
	return c
}

// loadInactive reads the inactive set.
func (st *ucState) loadInactive(m MetaStore) error {
	v, err := m.Meta(metaUCInactive)
	if err != nil {
		return fmt.Errorf("read the user-control state: %w", err)
	}
	st.Inactive = map[string]string{}
	if v != "" && json.Unmarshal([]byte(v), &st.Inactive) != nil {
		st.Inactive = map[string]string{}
	}
	return nil
}

// save writes the state; the inactive set only when loaded.
func (st *ucState) save(m MetaStore) error {
	if st.Inactive != nil {
		b, _ := json.Marshal(st.Inactive)
		if err := m.SetMeta(metaUCInactive, string(b)); err != nil {
			return fmt.Errorf("save the user-control state: %w", err)
		}
	}
	b, _ := json.Marshal(st.Watch)
	if err := m.SetMeta(metaUCWatch, string(b)); err != nil {
		return fmt.Errorf("save the user-control watch list: %w", err)
	}
	wm, err := st.Watermark.MarshalBinary()
	if err != nil {
		return err
	}
	if err := m.SetMeta(metaUCWatermark, string(wm)); err != nil {
		return fmt.Errorf("save the user-control watermark: %w", err)
	}
	return nil
}

// dueExpiries returns the users whose kept expiry time is at or before now.
func (w *ucWatch) dueExpiries(now time.Time) []string {
	var out []string
	for id, at := range w.Expiries {
		if at <= now.Unix() {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// ucChange is one suspend or reactivate.
type ucChange struct {
	ExternalID string
	// DN names the user in the job's object list.
	DN       string
	UserID   string
	Activate bool
	Reason   string
}

// ucEval is what a tick decided.
type ucEval struct {
	Changes []ucChange
	// Inactive, Locked and Expiries are the new state, applied once the
	// changes succeeded (failed ones keep their previous state).
	Inactive map[string]string
	Locked   []string
	Expiries map[string]int64
}

// evalInput is what evaluate looks at.
type evalInput struct {
	Now              time.Time
	SuspendLockedOut bool
	// Observed are the account states read this tick, by external id.
	Observed map[string]directory.AccountState
	// Full is true when Observed holds every in-scope account.
	Full bool
	// Due are users whose kept expiry time has passed.
	Due []string
	// InScope are the users of the last directory snapshot; Pool maps
	// the users in the pool to their pool ids.
	InScope map[string]*directory.User
	Pool    map[string]string
	// Prev is the inactive set before this tick; Fresh is true when there
	// was none (the snapshot's view is the previous state then).
	Prev  map[string]string
	Fresh bool
	Watch ucWatch
}

// evaluate decides the tick's changes with the one definition of an active
// account. It is pure.
func evaluate(in evalInput) ucEval {
	ev := ucEval{Inactive: maps.Clone(in.Prev), Expiries: maps.Clone(in.Watch.Expiries)}
	if ev.Inactive == nil || in.Full {
		ev.Inactive = map[string]string{}
	}
	if ev.Expiries == nil || in.Full {
		ev.Expiries = map[string]int64{}
	}
	locked := map[string]bool{}
	if !in.Full {
		for _, id := range in.Watch.Locked {
			locked[id] = true
		}
	}
	horizon := in.Watch.HorizonEnd
	if in.Full {
		horizon = in.Now.Add(expiryHorizon)
	}
	states := maps.Clone(in.Observed)
	if states == nil {
		states = map[string]directory.AccountState{}
	}
	for _, id := range in.Due {
		if _, ok := states[id]; !ok {
			// Nothing was written: the account is as it was, and expired.
			states[id] = directory.AccountState{ExternalID: id, Enabled: true, ExpiresAt: time.Unix(in.Watch.Expiries[id], 0)}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(states)) {
		a := states[id]
		// Expiry times and lockouts are kept for every account read (the
		// read is scoped by organizational unit): one that enters the scope
		// later, by a move or a group change, is then still covered.
		delete(ev.Expiries, id)
		if !a.ExpiresAt.IsZero() && a.ExpiresAt.After(in.Now) && !a.ExpiresAt.After(horizon) {
			ev.Expiries[id] = a.ExpiresAt.Unix()
		}
		delete(locked, id)
		if in.SuspendLockedOut && a.LockedOut {
			locked[id] = true
		}
		snapUser := in.InScope[id]
		if snapUser == nil { // out of scope: no change of this loop's
			delete(ev.Inactive, id)
			continue
		}
		want := a.Active(in.Now, in.SuspendLockedOut)
		_, wasInactive := in.Prev[id]
		if in.Fresh || !wasInactive {
			// The directory cycle may have suspended it already.
			wasInactive = wasInactive || !snapUser.Account().Active(in.Now, in.SuspendLockedOut)
		}
		if want {
			delete(ev.Inactive, id)
		} else {
			ev.Inactive[id] = a.InactiveReason(in.Now, in.SuspendLockedOut)
		}
		if want == !wasInactive {
			continue
		}
		if uid := in.Pool[id]; uid != "" {
			ev.Changes = append(ev.Changes, ucChange{ExternalID: id, DN: snapUser.DN, UserID: uid, Activate: want, Reason: ev.Inactive[id]})
		}
	}
	ev.Locked = slices.Sorted(maps.Keys(locked))
	return ev
}
