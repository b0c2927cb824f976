package host

import (
	"fmt"
	"time"

	sinkv1 "github.com/heraldhq/herald/plugins/proto/sink/v1"
	"github.com/heraldhq/herald/plugins/sdk"
)

// The converters below are the agent's half of the boundary between the
// hand-written sdk types and the generated protocol types, which never leave
// plugins/. Their mirror images live in plugins/sdk.

func eventToProto(e *sdk.Event) *sinkv1.Event {
	_, offset := e.Time.Zone()
	return &sinkv1.Event{
		Id:                e.ID,
		Rule:              e.Rule,
		Status:            string(e.Status),
		Key:               e.Key,
		Severity:          e.Severity,
		Title:             e.Title,
		Message:           e.Message,
		Fields:            e.Fields,
		TimeUnixNano:      unixNano(e.Time),
		TimeOffsetSeconds: int32(offset),
		Host:              e.Host,
		Ref:               e.Ref,
	}
}

func resultFromProto(r *sinkv1.Result) (sdk.Result, error) {
	res := sdk.Result{Ref: r.GetRef(), Reason: r.GetReason()}
	switch r.GetOutcome() {
	case sinkv1.Outcome_OUTCOME_ACCEPTED:
		res.Outcome = sdk.Accepted
	case sinkv1.Outcome_OUTCOME_RETRYABLE:
		res.Outcome = sdk.Retryable
	case sinkv1.Outcome_OUTCOME_REJECTED:
		res.Outcome = sdk.Rejected
	default:
		return sdk.Result{}, fmt.Errorf("plugin gave no valid outcome (%v)", r.GetOutcome())
	}
	if n := r.GetRetryAtUnixNano(); n != 0 {
		res.RetryAt = time.Unix(0, n)
	}
	return res, nil
}

// unixNano maps the zero time to 0 (time.Time{}.UnixNano() is not 0).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
