// Package keys holds webusage's encryption keys and encrypts identifying
// fields at rest.
//
// The hierarchy has two levels. A key-encryption key (KEK, 32 bytes) is either
// generated into DIR/kek or supplied by the customer in a file of their own
// (BYOK). Everything below it is random and kept only wrapped (AES-256-GCM
// under the KEK) in DIR/keyring.json:
//
//   - data keys (AES-256-GCM) seal field values; exactly one is active for new
//     values, older ones are kept so existing values still open;
//   - one index key (HMAC-SHA256) gives stable keyed hashes for lookup columns
//     and irreversible pseudonyms; it is never rotated, so lookups stay stable.
//
// Changing the KEK (Rewrap) rewrites only the keyring file; adding a data key
// (Keyring.AddDataKey) makes new values use it while old ones keep opening.
// Only the standard library's cryptography is used.
package keys
