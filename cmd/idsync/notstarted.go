package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/idsync/idsync/agent"
	"github.com/idsync/idsync/internal/config"
	"github.com/idsync/idsync/internal/idhub"
	"github.com/idsync/idsync/internal/state"
)

// recordNotStarted saves the job record of a directory cycle that failed
// before it ran (see agent.NotStartedJob) and logs the failure at error.
// Nothing is recorded when ctx was cancelled: that is a shutdown, not a
// failure.
func recordNotStarted(ctx context.Context, cfg *config.Config, log *zap.Logger, trigger agent.Trigger, dryRun bool, start time.Time, err error) *state.Job {
	if ctx.Err() != nil {
		return nil
	}
	// The error is classified as the engine's cloud calls are, so that its
	// code says whether authentication or the network failed.
	job := agent.NotStartedJob(cfg.AgentID, cfg.UserpoolID, trigger, dryRun, start, time.Now(), idhub.Classified(err))
	log.Error("cycle failed before it started", zap.String("job", job.ID), zap.String("code", job.ErrorCode), zap.Error(err))
	if serr := state.OpenJobs(cfg.StatePath).Save(job); serr != nil {
		log.Error("saving the job record failed", zap.Error(serr))
	}
	return job
}
