package keys

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentUse seals, opens and hashes from many goroutines while data
// keys are being added; run with -race.
func TestConcurrentUse(t *testing.T) {
	k := openT(t, t.TempDir(), "")
	want := k.Index("user", "jdoe")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				v := fmt.Sprintf("user-%d-%d", g, i)
				got, err := k.UnsealString(k.SealString(v, "users.name"), "users.name")
				if err != nil || got != v {
					errs <- fmt.Errorf("round trip %q = %q, %v", v, got, err)
					return
				}
				if k.Index("user", "jdoe") != want {
					errs <- fmt.Errorf("Index changed under concurrency")
					return
				}
				_ = k.Pseudonym("device", v)
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			if _, err := k.AddDataKey(); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if k.ActiveKeyID() != 4 {
		t.Errorf("active key %d, want 4", k.ActiveKeyID())
	}
}
