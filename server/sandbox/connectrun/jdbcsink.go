package connectrun

import (
	"context"
	"errors"
)

func runJDBCSink(ctx context.Context, t *Task) error {
	return errors.New("not yet")
}
