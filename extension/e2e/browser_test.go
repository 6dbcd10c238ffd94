package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium; the test never downloads a browser.
const chromiumPath = "/usr/bin/chromium"

// buildExtension builds the extension into a temporary directory and returns
// the unpacked Chromium directory and the extension id its key gives.
func buildExtension(t *testing.T) (dir, id string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required to build the extension: %v", err)
	}
	dist := t.TempDir()
	build := exec.Command(node, "scripts/build.js")
	build.Dir = filepath.Join(repoRoot(t), "extension")
	build.Env = append(os.Environ(), "EXTENSION_DIST="+dist)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build extension: %v\n%s", err, out)
	}
	dir = filepath.Join(dist, "chromium")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return dir, extensionID(t, m.Key)
}

// extensionID derives a Chromium extension id from its manifest key: the
// first 128 bits of the SHA-256 of the public key, written with a–p.
func extensionID(t *testing.T, key string) string {
	der, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatalf("manifest key: %v", err)
	}
	sum := sha256.Sum256(der)
	id := []byte(hex.EncodeToString(sum[:16]))
	for i, c := range id {
		if c <= '9' {
			id[i] = 'a' + (c - '0')
		} else {
			id[i] = 'a' + 10 + (c - 'a')
		}
	}
	return string(id)
}

// startBrowser starts headless Chromium with the extension loaded and every
// *.test host mapped to sitesAddr. The returned context drives its first tab.
func startBrowser(t *testing.T, extDir, sitesAddr string) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is required at %s for the extension's end-to-end test: install it (apt-get install chromium): %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("load-extension", extDir),
		chromedp.Flag("disable-extensions-except", extDir),
		chromedp.Flag("host-resolver-rules", fmt.Sprintf("MAP *.test %s", sitesAddr)),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}
