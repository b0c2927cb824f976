package host

import (
	"fmt"
	"time"

	sinkv1 "github.com/heraldhq/herald/plugins/proto/sink/v1"
	"github.com/heraldhq/herald/plugins/sdk"
)

// The converters below are the agent's half of the boundary between the
// hand-written sdk types and the generated protocol types, which never leave
// plugins/; events are encoded by appendSendRequest (wire.go). Their mirror
// images live in plugins/sdk.

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

// timeToProto returns what Event's time_unix_nano and time_offset_seconds
// hold for t: 0 for the zero time (time.Time{}.UnixNano() is not 0), and the
// offset of t's zone.
func timeToProto(t time.Time) (unixNano int64, offset int32) {
	_, off := t.Zone()
	if !t.IsZero() {
		unixNano = t.UnixNano()
	}
	return unixNano, int32(off)
}
