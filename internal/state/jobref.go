package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrAmbiguousJob is returned by Resolve for a prefix of several job ids.
var ErrAmbiguousJob = errors.New("job id prefix matches several jobs")

// Resolve turns what a person types into a job id: "last" (the newest
// job), a whole id, or the start of one, with or without the "sync_"
// prefix ("20261123T1000" for the jobs started at 10:00 that day). A
// prefix must match exactly one job.
func (h *Jobs) Resolve(ref string) (string, error) {
	ids, err := h.ids()
	if err != nil {
		return "", err
	}
	if ref == "last" || ref == "latest" {
		if len(ids) == 0 {
			return "", fmt.Errorf("state: last job: %w", ErrNoJob)
		}
		return ids[len(ids)-1], nil
	}
	var matches []string
	for _, id := range ids {
		if id == ref {
			return id, nil
		}
		if ref != "" && (strings.HasPrefix(id, ref) || strings.HasPrefix(strings.TrimPrefix(id, "sync_"), ref)) {
			matches = append(matches, id)
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("state: job %q: %w", ref, ErrNoJob)
	case 1:
		return matches[0], nil
	}
	shown := matches
	if len(shown) > 5 {
		shown = shown[len(shown)-5:]
	}
	return "", fmt.Errorf("state: job %q matches %d jobs (newest: %s): %w", ref, len(matches), strings.Join(shown, ", "), ErrAmbiguousJob)
}

// rfc3339Milli is RFC 3339 with milliseconds.
const rfc3339Milli = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON encodes the job with its IDaaS fields (times in Unix
// milliseconds) followed by StartTimeRFC3339 and EndTimeRFC3339, the same
// times in RFC 3339 (UTC) for people and tools that read dates.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	out := struct {
		plain
		StartTimeRFC3339 string `json:"StartTimeRFC3339,omitempty"`
		EndTimeRFC3339   string `json:"EndTimeRFC3339,omitempty"`
	}{plain: plain(j)}
	if !j.StartTime.IsZero() {
		out.StartTimeRFC3339 = j.StartTime.UTC().Format(rfc3339Milli)
	}
	if !j.EndTime.IsZero() {
		out.EndTimeRFC3339 = j.EndTime.UTC().Format(rfc3339Milli)
	}
	return marshalPlain(out)
}

// FormatTime writes t in ISO 8601 with the zone of loc, to the second.
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(time.RFC3339)
}

func marshalPlain(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("state: encode job: %w", err)
	}
	return b, nil
}
