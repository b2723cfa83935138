package main

import (
	"context"
	"errors"
	"io"
)

func cmdEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("emulator: not built yet")
}
