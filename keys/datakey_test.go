package keys

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestAddDataKey(t *testing.T) {
	dir := t.TempDir()
	k := openT(t, dir, "")
	before := k.SealString("LAP-042", "devices.name")
	index := k.Index("device", "LAP-042")

	id, err := k.AddDataKey()
	if err != nil {
		t.Fatalf("AddDataKey: %v", err)
	}
	if id != 2 || k.ActiveKeyID() != 2 {
		t.Fatalf("AddDataKey = %d, ActiveKeyID = %d; want 2, 2", id, k.ActiveKeyID())
	}
	after := k.SealString("LAP-043", "devices.name")
	if got, _ := KeyIDOf(after); got != 2 {
		t.Errorf("new value sealed under key %d, want 2", got)
	}
	if got, _ := KeyIDOf(before); got != 1 {
		t.Errorf("old value reports key %d, want 1", got)
	}
	if unsealT(t, k, before, "devices.name") != "LAP-042" || unsealT(t, k, after, "devices.name") != "LAP-043" {
		t.Fatal("round trip failed")
	}
	if k.Index("device", "LAP-042") != index {
		t.Error("Index changed with a new data key")
	}

	// Persisted: a fresh Open sees both keys and the new active one.
	k2 := openT(t, dir, "")
	if k2.ActiveKeyID() != 2 || !slices.Equal(k2.KeyIDs(), []uint32{1, 2}) {
		t.Fatalf("reopened: active %d, keys %v", k2.ActiveKeyID(), k2.KeyIDs())
	}
	if unsealT(t, k2, before, "devices.name") != "LAP-042" || unsealT(t, k2, after, "devices.name") != "LAP-043" {
		t.Fatal("reopened keyring cannot open values")
	}
	st, err := ReadStatus(dir, "")
	if err != nil || len(st.DataKeys) != 2 || st.DataKeys[0].Active || !st.DataKeys[1].Active || st.Active != 2 {
		t.Fatalf("status: %+v, %v", st, err)
	}
}

// TestAddDataKeyTwoHolders has two keyrings on one directory, as a server and
// a maintenance command would: neither loses the other's key.
func TestAddDataKeyTwoHolders(t *testing.T) {
	dir := t.TempDir()
	a, b := openT(t, dir, ""), openT(t, dir, "")
	idA, err := a.AddDataKey()
	if err != nil {
		t.Fatal(err)
	}
	sealedA := a.SealString("x", "c")
	if _, err := b.Unseal(sealedA, "c"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("b opened a's new key before learning it: %v", err)
	}
	idB, err := b.AddDataKey()
	if err != nil {
		t.Fatal(err)
	}
	if idA != 2 || idB != 3 {
		t.Fatalf("ids %d, %d; want 2, 3", idA, idB)
	}
	if unsealT(t, b, sealedA, "c") != "x" {
		t.Fatal("b did not pick up a's key")
	}
	if got := openT(t, dir, "").KeyIDs(); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Fatalf("keys on disk %v, want [1 2 3]", got)
	}
}

func TestAddDataKeyAfterRewrapElsewhere(t *testing.T) {
	dir := t.TempDir()
	k := openT(t, dir, "")
	if err := Rewrap(dir, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := k.AddDataKey(); err == nil || !strings.Contains(err.Error(), "re-wrapped") {
		t.Fatalf("AddDataKey on a keyring re-wrapped by someone else: %v", err)
	}
	if k.ActiveKeyID() != 1 || openT(t, dir, "").ActiveKeyID() != 1 {
		t.Fatal("refused AddDataKey changed the active key")
	}
	// Values still open after the refusal; the rewrapped file works with the new KEK.
	if unsealT(t, k, k.SealString("v", "c"), "c") != "v" {
		t.Fatal("keyring unusable after a refused AddDataKey")
	}
}

// TestReencryptThenRemoveOldKey follows the row re-encryption procedure: add a
// key, re-seal every value not under it, remove the old key.
func TestReencryptThenRemoveOldKey(t *testing.T) {
	dir := t.TempDir()
	k := openT(t, dir, "")
	rows := [][]byte{k.SealString("jdoe", "users.name"), k.SealString("asmith", "users.name")}
	leftover := k.SealString("left behind", "c") // not re-sealed
	if err := k.RemoveDataKey(1); err == nil || !strings.Contains(err.Error(), "active") {
		t.Fatalf("RemoveDataKey(active): %v", err)
	}
	newID, err := k.AddDataKey()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range rows {
		if id, _ := KeyIDOf(v); id == k.ActiveKeyID() {
			continue
		}
		pt, err := k.Unseal(v, "users.name")
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = k.Seal(pt, "users.name")
	}
	old := k.SealString("x", "c") // sealed under the new key: survives
	if err := k.RemoveDataKey(1); err != nil {
		t.Fatalf("RemoveDataKey(1): %v", err)
	}
	if err := k.RemoveDataKey(1); err == nil || !strings.Contains(err.Error(), "no such") {
		t.Fatalf("second RemoveDataKey(1): %v", err)
	}
	for _, kk := range []*Keyring{k, openT(t, dir, "")} {
		if !slices.Equal(kk.KeyIDs(), []uint32{newID}) {
			t.Fatalf("keys %v, want [%d]", kk.KeyIDs(), newID)
		}
		if unsealT(t, kk, rows[0], "users.name") != "jdoe" || unsealT(t, kk, rows[1], "users.name") != "asmith" ||
			unsealT(t, kk, old, "c") != "x" {
			t.Fatal("re-sealed values do not open")
		}
	}
	if _, err := k.Unseal(leftover, "c"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("value under the removed key: %v; want ErrUnknownKey", err)
	}
}
