package state

// Counter counts the outcomes of one kind of change in a job.
type Counter struct {
	Total   int64 `json:"Total"`
	Success int64 `json:"Success"`
	Failed  int64 `json:"Failed"`
	Skipped int64 `json:"Skipped"`
}

// Statistics are a job's counts for one object type. The JSON names follow
// the GetSynchronizationJob shape of cloud IDaaS products (hence "Binded"),
// with Activated and Deactivated added.
type Statistics struct {
	Created     Counter `json:"Created"`
	Updated     Counter `json:"Updated"`
	Deleted     Counter `json:"Deleted"`
	Binded      Counter `json:"Binded"`
	Same        Counter `json:"Same"`
	Activated   Counter `json:"Activated"`
	Deactivated Counter `json:"Deactivated"`
	// PasswordHashUpdated counts password hashes set (password sessions).
	PasswordHashUpdated Counter `json:"PasswordHashUpdated"`
	// PasswordWritten counts passwords written back to the directory
	// (password writeback jobs).
	PasswordWritten Counter `json:"PasswordWritten,omitzero"`
}

// Result is the statistics of one job.
type Result struct {
	UserStatistics        Statistics `json:"UserStatistics"`
	GroupStatistics       Statistics `json:"GroupStatistics"`
	GroupMemberStatistics Statistics `json:"GroupMemberStatistics"`
}

// Failures returns the number of failed changes of every kind.
func (r Result) Failures() int64 {
	var n int64
	for _, s := range r.all() {
		for _, c := range s.changed() {
			n += c.Failed
		}
		n += s.Same.Failed
	}
	return n
}

// Successes returns the number of successful changes, Same excluded.
func (r Result) Successes() int64 {
	var n int64
	for _, s := range r.all() {
		for _, c := range s.changed() {
			n += c.Success
		}
	}
	return n
}

func (r Result) all() []Statistics {
	return []Statistics{r.UserStatistics, r.GroupStatistics, r.GroupMemberStatistics}
}

// changed lists the counters of every kind of change but Same.
func (s Statistics) changed() []Counter {
	return []Counter{s.Created, s.Updated, s.Deleted, s.Binded, s.Activated, s.Deactivated, s.PasswordHashUpdated, s.PasswordWritten}
}
