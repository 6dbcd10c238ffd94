package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runServeInProcess starts `webusage serve args...` and returns a stop
// function that cancels it (like SIGTERM) and returns its exit code.
func runServeInProcess(t *testing.T, url string, client *http.Client, args ...string) (logs *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- dispatch(ctx, append([]string{"serve"}, args...), stdio{in: strings.NewReader(""), out: logs, err: logs})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited with %d:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server not ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return logs, func() int {
		cancel()
		return <-done
	}
}

func TestServeBootstrapsOnceAndNeverLogsTokens(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	logs, stop := runServeInProcess(t, "http://"+addr, http.DefaultClient, "--addr", addr, "--data", dir)
	creds, err := os.ReadFile(filepath.Join(dir, "initial-credentials"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "initial-credentials")); fi.Mode().Perm() != 0o600 {
		t.Errorf("initial-credentials mode %v", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Join(dir, "webusage.db")); fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v", fi.Mode().Perm())
	}
	tokens := map[string]string{}
	for _, line := range strings.Split(string(creds), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			tokens[k] = v
		}
	}
	admin, enroll := tokens["WEBUSAGE_ADMIN_TOKEN"], tokens["WEBUSAGE_ENROLLMENT_TOKEN"]
	if len(admin) < 20 || len(enroll) < 20 {
		t.Fatalf("credentials file: %q", creds)
	}
	get := func(path, token string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/api/v1/settings", admin) != 200 || get("/api/v1/extension/config", enroll) != 200 {
		t.Fatal("the generated tokens do not work")
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d after cancel", code)
	}
	if strings.Contains(logs.String(), admin) || strings.Contains(logs.String(), enroll) {
		t.Fatalf("a token reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "initial-credentials") {
		t.Errorf("the log does not say where the credentials are:\n%s", logs.String())
	}
	// Second start: no new credentials, the same tokens still work; the
	// environment tokens are ignored once bootstrapped.
	os.Remove(filepath.Join(dir, "initial-credentials"))
	t.Setenv("WEBUSAGE_ADMIN_TOKEN", "wua_from_env_ignored_after_bootstrap")
	t.Setenv("WEBUSAGE_ADDR", addr) // flags also come from the environment
	_, stop = runServeInProcess(t, "http://"+addr, http.DefaultClient, "--data", dir)
	defer stop()
	if _, err := os.Stat(filepath.Join(dir, "initial-credentials")); err == nil {
		t.Error("credentials written again on the second start")
	}
	if get("/api/v1/settings", admin) != 200 || get("/api/v1/settings", "wua_from_env_ignored_after_bootstrap") != 401 {
		t.Error("tokens changed on restart")
	}
}

func TestServeTokensFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	t.Setenv("WEBUSAGE_ADMIN_TOKEN", "wua_chosen_admin_token_123")
	t.Setenv("WEBUSAGE_ENROLLMENT_TOKEN", "wue_chosen_enroll_token_123")
	_, stop := runServeInProcess(t, "http://"+addr, http.DefaultClient, "--addr", addr, "--data", dir)
	defer stop()
	if _, err := os.Stat(filepath.Join(dir, "initial-credentials")); err == nil {
		t.Error("credentials file written although both tokens came from the environment")
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/settings", nil)
	req.Header.Set("Authorization", "Bearer wua_chosen_admin_token_123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("chosen admin token: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	addr := freeAddr(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	_, stop := runServeInProcess(t, "https://"+addr, client, "--addr", addr, "--data", dir, "--tls-cert", certFile, "--tls-key", keyFile)
	defer stop()
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served on a TLS listener")
		}
	}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HTTPS healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	code := dispatch(context.Background(), []string{"serve", "--addr", freeAddr(t), "--data", t.TempDir(), "--tls-cert", certFile},
		stdio{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &bytes.Buffer{}})
	if code == 0 {
		t.Error("a certificate without a key was accepted")
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "webusage test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
