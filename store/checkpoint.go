package store

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Checkpoint cadence and the WAL size past which the checkpointer waits for
// readers and restarts the log, so it cannot grow without bound.
const (
	checkpointEvery  = 500 * time.Millisecond
	walRestartBytes  = 256 << 20
	checkpointPragma = "PRAGMA wal_checkpoint(PASSIVE)"
)

// checkpointer copies committed WAL pages into the database on its own
// connection, so the writer's own (automatic) checkpoints find little left
// to do and its commits rarely wait for a database sync.
type checkpointer struct {
	db      *sqlx.DB
	wal     string
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newCheckpointer(db *sqlx.DB, dbPath string) *checkpointer {
	c := &checkpointer{db: db, wal: dbPath + "-wal", stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.stopped)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		mode := checkpointPragma
		if fi, err := os.Stat(c.wal); err == nil && fi.Size() > walRestartBytes {
			mode = "PRAGMA wal_checkpoint(RESTART)"
		}
		// A busy or partial checkpoint is fine: the next tick continues it.
		c.db.ExecContext(context.Background(), mode)
	}
}

// close stops the background checkpoints and folds the whole WAL into the
// database (the writer has stopped by then).
func (c *checkpointer) close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.stopped
		if _, e := c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); e != nil {
			err = fmt.Errorf("store: final checkpoint: %w", e)
		}
		if e := c.db.Close(); e != nil && err == nil {
			err = e
		}
	})
	return err
}
