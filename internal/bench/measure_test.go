package bench

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

func TestMain(m *testing.M) {
	MeasureMain()
	os.Exit(m.Run())
}

func TestMeasuredPeakIsTheChildsOwn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ru_maxrss is read on linux")
	}
	// The harness holds far more than the child ever does.
	held := make([]byte, 256<<20)
	for i := range held {
		held[i] = 1
	}
	// dd touches one 48 MiB buffer.
	u, err := runMeasured(context.Background(), exec.Command("dd", "if=/dev/zero", "of=/dev/null", "bs=48M", "count=1", "status=none"))
	runtime.KeepAlive(held)
	if err != nil {
		t.Fatal(err)
	}
	const mib = 1 << 20
	t.Logf("child peak %d MiB, runner %d MiB", u.PeakRSS/mib, u.RunnerRSS/mib)
	if u.PeakRSS < 48*mib || u.PeakRSS > 128*mib {
		t.Errorf("peak RSS %d MiB, want the child's ~48 MiB (at least 48, far below the harness's 256)", u.PeakRSS/mib)
	}
	if u.RunnerRSS <= 0 || u.RunnerRSS >= u.PeakRSS {
		t.Errorf("runner RSS %d MiB, want a floor below the child's %d MiB", u.RunnerRSS/mib, u.PeakRSS/mib)
	}
	if u.Exit != 0 || u.Wall <= 0 {
		t.Errorf("exit %d, wall %v: want 0 and measured", u.Exit, u.Wall)
	}
}

func TestMeasuredExitCode(t *testing.T) {
	u, err := runMeasured(context.Background(), exec.Command("sh", "-c", "exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Exit != 3 {
		t.Errorf("exit %d, want the child's 3", u.Exit)
	}
	if _, err := runMeasured(context.Background(), exec.Command("/nonexistent/idsync")); err == nil {
		t.Error("a command that cannot start: no error")
	}
}
