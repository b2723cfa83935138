package agent

import (
	"time"

	"github.com/idsync/idsync/internal/pool"
	"github.com/idsync/idsync/internal/state"
	"github.com/idsync/idsync/reporter"
)

// NotStartedJob returns the job record of a directory cycle that failed
// before RunCycle could run it: the credentials or the state could not be
// opened, or pushing the settings to the pool failed (an authentication
// or network failure, a scope change). The record is failed, with the
// error's code and message, so that the job history shows every failed
// cycle. Pure: the caller saves it.
func NotStartedJob(agentID, userpoolID string, trigger Trigger, dryRun bool, start, end time.Time, err error) *state.Job {
	if trigger == "" {
		trigger = TriggerManual
	}
	job := &state.Job{
		ID: state.NewJobID(start), TargetType: "user_pool", TargetID: userpoolID, Direction: "ingress",
		StartTime: state.UnixMilli{Time: start.UTC()}, TriggerType: string(trigger), Status: state.StatusRunning,
		AgentID: agentID, DryRun: dryRun, SessionType: pool.SessionADSync.String(),
	}
	finishJob(job, &reporter.Counts{}, err, end, errorCode)
	return job
}
