// Package e2e tests the browser extension end to end: the built extension in
// the system's headless Chromium, configured through its options page,
// reporting to a real `webusage serve` on loopback. The test lives in
// e2e_test.go; this package has no non-test code.
package e2e
