package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/idsync/idsync/internal/cloudlog"
	"github.com/idsync/idsync/internal/config"
)

// withCloudLog adds Cloud Logging to the process's logger when
// logger.cloud_logger.log_group_id is set: one sink for the whole process
// (every cycle of the daemon), with credentials from an Identity Hub client
// of its own. The returned close function flushes it, then runs closeLog.
func withCloudLog(cfg *config.Config, log *zap.Logger, closeLog func()) (*zap.Logger, func(), error) {
	if cfg.Logger.CloudLogger.LogGroupID == "" {
		return log, closeLog, nil
	}
	client, err := newClient(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	teed, stop, err := startCloudLog(cfg, client.Credentials(), log)
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return teed, func() {
		stop()
		client.Close()
		closeLog()
	}, nil
}

// startCloudLog tees log into Yandex Cloud Logging when
// logger.cloud_logger.log_group_id is set, authenticated with creds (the
// Identity Hub client's credentials). The returned stop function flushes
// what is buffered (bounded) and reports dropped entries on log.
func startCloudLog(cfg *config.Config, creds credentials.PerRPCCredentials, log *zap.Logger) (*zap.Logger, func(), error) {
	group := cfg.Logger.CloudLogger.LogGroupID
	if group == "" {
		return log, func() {}, nil
	}
	level, err := zapcore.ParseLevel(cfg.Logger.Level)
	if err != nil {
		return nil, nil, fmt.Errorf("logger.level: %w", err)
	}
	transport := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	if cfg.Endpoints.Plaintext {
		transport = insecure.NewCredentials()
	}
	cc, err := grpc.NewClient(cfg.Endpoints.Logging, grpc.WithTransportCredentials(transport), grpc.WithPerRPCCredentials(creds))
	if err != nil {
		return nil, nil, fmt.Errorf("cloud logging client: %w", err)
	}
	// Failures are reported on the local logger only (through the cloud
	// one they would feed themselves), once until a stop.
	var warned atomic.Bool
	sink, err := cloudlog.New(cloudlog.Options{Conn: cc, LogGroupID: group, AgentID: cfg.AgentID, Level: max(level, zapcore.InfoLevel),
		OnError: func(err error, dropped int) {
			if warned.CompareAndSwap(false, true) {
				log.Warn("cloud logging unavailable; entries are dropped", zap.String("log_group_id", group), zap.Int("dropped", dropped), zap.Error(err))
			}
		}})
	if err != nil {
		cc.Close()
		return nil, nil, fmt.Errorf("cloud logging: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go sink.Run(ctx)
	enc := zap.NewProductionEncoderConfig()
	teed := log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return zapcore.NewTee(c, sink.Core(enc)) }))
	return teed, func() {
		cancel()
		sink.Wait()
		_ = cc.Close()
		if n := sink.Dropped(); n > 0 {
			log.Warn("cloud logging: entries dropped", zap.String("log_group_id", group), zap.Int64("dropped", n), zap.Int64("sent", sink.Sent()))
		}
	}, nil
}
