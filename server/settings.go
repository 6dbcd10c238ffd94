package server

import (
	"bytes"
	"encoding/json"
	"sort"

	"webusage/geo"
	"webusage/privacy"
)

// Settings are the instance's collection switches and extension parameters.
type Settings struct {
	CollectWebUsage       bool   `json:"collect_web_usage"`
	CollectURLs           bool   `json:"collect_urls"`
	Username              string `json:"username"`
	CollectUPN            bool   `json:"collect_upn"`
	Geolocation           string `json:"geolocation"`
	ExtensionIdleSeconds  int    `json:"extension_idle_seconds"`
	ExtensionFlushSeconds int    `json:"extension_flush_seconds"`
	// RetentionDays is how long events are kept.
	RetentionDays int `json:"retention_days"`
	// InactiveRetentionDays is how long a device or user that reports
	// nothing is kept.
	InactiveRetentionDays int `json:"inactive_retention_days"`
}

// DefaultSettings follow the privacy policy we model: web usage on, URLs off,
// user names in clear, UPN off, geolocation at city level.
func DefaultSettings() Settings {
	return Settings{
		CollectWebUsage:       true,
		CollectURLs:           false,
		Username:              string(privacy.UsernameClear),
		CollectUPN:            false,
		Geolocation:           string(geo.GranularityCity),
		ExtensionIdleSeconds:  60,
		ExtensionFlushSeconds: 60,
		RetentionDays:         30,
		InactiveRetentionDays: 90,
	}
}

// Bounds of the extension parameters.
const (
	minIdleSeconds, maxIdleSeconds     = 15, 3600
	minFlushSeconds, maxFlushSeconds   = 5, 3600
	minRetentionDays, maxRetentionDays = 1, 3650
)

// validate checks every field, naming the first bad one.
func (s Settings) validate() error {
	switch privacy.UsernameMode(s.Username) {
	case privacy.UsernameClear, privacy.UsernameHashed, privacy.UsernameNone:
	default:
		return invalid("username", "username must be clear, hashed or none")
	}
	if _, err := geo.ParseGranularity(s.Geolocation); err != nil {
		return invalid("geolocation", "geolocation must be off, country, state or city")
	}
	if s.ExtensionIdleSeconds < minIdleSeconds || s.ExtensionIdleSeconds > maxIdleSeconds {
		return invalid("extension_idle_seconds", "extension_idle_seconds must be between %d and %d", minIdleSeconds, maxIdleSeconds)
	}
	if s.ExtensionFlushSeconds < minFlushSeconds || s.ExtensionFlushSeconds > maxFlushSeconds {
		return invalid("extension_flush_seconds", "extension_flush_seconds must be between %d and %d", minFlushSeconds, maxFlushSeconds)
	}
	if s.RetentionDays < minRetentionDays || s.RetentionDays > maxRetentionDays {
		return invalid("retention_days", "retention_days must be between %d and %d", minRetentionDays, maxRetentionDays)
	}
	if s.InactiveRetentionDays < minRetentionDays || s.InactiveRetentionDays > maxRetentionDays {
		return invalid("inactive_retention_days", "inactive_retention_days must be between %d and %d", minRetentionDays, maxRetentionDays)
	}
	return nil
}

// patch applies a partial JSON document to s. Unknown fields and wrong types
// are refused naming the field. It returns the names of the changed fields.
func (s Settings) patch(body []byte) (Settings, []string, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return s, nil, invalid("(body)", "body must be a JSON object")
	}
	known := map[string]any{
		"collect_web_usage": &s.CollectWebUsage, "collect_urls": &s.CollectURLs, "username": &s.Username,
		"collect_upn": &s.CollectUPN, "geolocation": &s.Geolocation,
		"extension_idle_seconds": &s.ExtensionIdleSeconds, "extension_flush_seconds": &s.ExtensionFlushSeconds,
		"retention_days": &s.RetentionDays, "inactive_retention_days": &s.InactiveRetentionDays,
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		dst, ok := known[k]
		if !ok {
			return s, nil, invalid(k, "unknown setting %q", k)
		}
		if err := json.Unmarshal(fields[k], dst); err != nil {
			return s, nil, invalid(k, "%s has the wrong type", k)
		}
	}
	if err := s.validate(); err != nil {
		return s, nil, err
	}
	return s, names, nil
}

func (s Settings) storagePolicy() privacy.StoragePolicy {
	return privacy.StoragePolicy{
		Username:    privacy.UsernameMode(s.Username),
		CollectUPN:  s.CollectUPN,
		CollectURLs: s.CollectURLs,
	}
}

func (s Settings) granularity() geo.Granularity {
	g, err := geo.ParseGranularity(s.Geolocation)
	if err != nil {
		return geo.GranularityOff
	}
	return g
}
