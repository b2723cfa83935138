//go:build !linux

package bench

import (
	"errors"
	"os"
	"time"
)

// peakRSS is not measured outside Linux.
func peakRSS(*os.ProcessState) int64 { return -1 }

// selfCPU is not measured outside Linux.
func selfCPU() time.Duration { return -1 }

// pidCPU is not measured outside Linux.
func pidCPU(int) (time.Duration, error) {
	return 0, errors.New("process cpu time is only read on linux")
}
