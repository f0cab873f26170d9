package connectrun

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Retrying a database both connectors share: what counts as the database
// being away rather than refusing, and how long to wait before trying again.

// nextBackoff doubles a retry delay, up to 30 seconds.
func nextBackoff(d time.Duration) time.Duration {
	return min(2*d, 30*time.Second)
}

// sleepCtx waits d, reporting false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// isPGConnectionError reports whether err is the database being unreachable
// (down, restarting, the connection lost) rather than the database refusing
// what was sent, or refusing the connector's credentials.
func isPGConnectionError(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "53300": // shutdown, crash, starting up, too many connections
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), pgconn.SafeToRetry(err), errors.As(err, &netErr):
		return true
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	return strings.Contains(err.Error(), "conn closed")
}

// isSlotActive reports PostgreSQL refusing a slot another session still
// holds (55006): after a lost connection the old walsender keeps it until
// it notices, up to wal_sender_timeout.
func isSlotActive(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55006"
}
