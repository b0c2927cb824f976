package lineparse

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Epoch formats accepted by TimeFormat besides Go layouts.
const (
	Unix   = "unix"    // seconds since 1970, optionally with a fraction: 1700000000.25
	UnixMs = "unix_ms" // milliseconds since 1970
	UnixUs = "unix_us" // microseconds since 1970
	UnixNs = "unix_ns" // nanoseconds since 1970
)

// TimeFormat parses the time values of one parser's time_format option.
type TimeFormat struct {
	layout string
}

// NewTimeFormat validates format: empty means RFC 3339 (with or without
// fractional seconds), one of the Unix constants means a number since the epoch,
// and anything else is a Go reference-time layout such as "2006-01-02 15:04:05".
func NewTimeFormat(format string) (TimeFormat, error) {
	switch format {
	case "", Unix, UnixMs, UnixUs, UnixNs:
		return TimeFormat{layout: format}, nil
	}
	// A layout with no reference element formats any time to itself and would
	// "parse" only its own literal text: almost certainly a mistake such as
	// "yyyy-MM-dd". probe differs from the reference time in every element.
	probe := time.Date(2017, 11, 28, 19, 48, 37, 123456789, time.FixedZone("XYZ", -3*3600-1800))
	if probe.Format(format) == format {
		return TimeFormat{}, fmt.Errorf("time_format %q is not a Go time layout (write the reference time Mon Jan 2 15:04:05 MST 2006 in the desired form, e.g. \"2006-01-02 15:04:05\"), nor one of %s, %s, %s, %s",
			format, Unix, UnixMs, UnixUs, UnixNs)
	}
	return TimeFormat{layout: format}, nil
}

// Parse parses a time value. A layout without a zone yields UTC.
func (f TimeFormat) Parse(s string) (time.Time, error) {
	switch f.layout {
	case "":
		return time.Parse(time.RFC3339Nano, s)
	case Unix:
		return parseEpoch(s, time.Second)
	case UnixMs:
		return parseEpoch(s, time.Millisecond)
	case UnixUs:
		return parseEpoch(s, time.Microsecond)
	case UnixNs:
		return parseEpoch(s, time.Nanosecond)
	}
	return time.Parse(f.layout, s)
}

// parseEpoch parses an integer count of unit since the epoch, with an optional
// decimal fraction of a unit.
func parseEpoch(s string, unit time.Duration) (time.Time, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || (hasFrac && frac == "") {
		return time.Time{}, fmt.Errorf("%q is not a number", s)
	}
	var fracNs int64
	if hasFrac {
		for i, c := range []byte(frac) {
			if c < '0' || c > '9' {
				return time.Time{}, fmt.Errorf("%q is not a number", s)
			}
			if i < 9 {
				fracNs = fracNs*10 + int64(c-'0')
			}
		}
		for i := len(frac); i < 9; i++ {
			fracNs *= 10
		}
		// fracNs is now the fraction in units of 1e-9 unit.
		fracNs = fracNs * int64(unit) / int64(time.Second)
		if n < 0 || strings.HasPrefix(whole, "-") {
			fracNs = -fracNs
		}
	}
	const maxNs = int64(1<<63 - 1)
	if n > maxNs/int64(unit) || n < -maxNs/int64(unit) {
		return time.Time{}, fmt.Errorf("%q is out of range", s)
	}
	return time.Unix(0, n*int64(unit)+fracNs).UTC(), nil
}
