//go:build !linux

package bench

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// peakRSS is not measured outside Linux.
func peakRSS(*os.ProcessState) int64 { return -1 }

// selfPeakRSS is not measured outside Linux.
func selfPeakRSS() int64 { return -1 }

// childAttr has nothing to add outside Linux.
func childAttr() *syscall.SysProcAttr { return nil }

// selfCPU is not measured outside Linux.
func selfCPU() time.Duration { return -1 }

// pidCPU is not measured outside Linux.
func pidCPU(int) (time.Duration, error) {
	return 0, errors.New("process cpu time is only read on linux")
}
