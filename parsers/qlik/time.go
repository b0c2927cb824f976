package qlik

import "time"

// zoneCache keeps the last zone built, so parsing a file whose timestamps all
// carry the same offset allocates no *time.Location per record.
type zoneCache struct {
	offset int
	loc    *time.Location
}

func (z *zoneCache) location(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	if z.loc == nil || z.offset != offset {
		z.loc, z.offset = time.FixedZone("", offset), offset
	}
	return z.loc
}

// looksLikeTimestamp reports whether s starts like a Qlik timestamp: yyyyMMddTHHmmss.
func looksLikeTimestamp(s string) bool {
	if len(s) < 15 || s[8] != 'T' {
		return false
	}
	return isDigits(s[:8]) && isDigits(s[9:15])
}

// parse parses a Qlik timestamp, yyyyMMddTHHmmss with an optional fraction of
// a second (. or , then 1 to 9 or more digits) and a zone (Z, ±hhmm or ±hh:mm),
// e.g. 20211109T193744.331+0100. It is written by hand because it runs for every
// record a rule may match, and time.Parse is several times slower.
func (z *zoneCache) parse(s string) (time.Time, bool) {
	if !looksLikeTimestamp(s) {
		return time.Time{}, false
	}
	year, month, day := num(s[0:4]), num(s[4:6]), num(s[6:8])
	hour, minute, sec := num(s[9:11]), num(s[11:13]), num(s[13:15])
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := 15, 0
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		i++
		digits := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if digits < 9 { // finer than a nanosecond is dropped
				nsec = nsec*10 + int(s[i]-'0')
				digits++
			}
		}
		if digits == 0 {
			return time.Time{}, false
		}
		for ; digits < 9; digits++ {
			nsec *= 10
		}
	}
	if i >= len(s) {
		return time.Time{}, false // a zone is required: local time would be ambiguous
	}
	offset := 0
	switch zone := s[i:]; {
	case zone == "Z":
	case len(zone) == 5 && (zone[0] == '+' || zone[0] == '-') && isDigits(zone[1:]):
		offset = zoneOffset(zone[0], num(zone[1:3]), num(zone[3:5]))
	case len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' && isDigits(zone[1:3]) && isDigits(zone[4:]):
		offset = zoneOffset(zone[0], num(zone[1:3]), num(zone[4:6]))
	default:
		return time.Time{}, false
	}
	if offset == badOffset {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, z.location(offset)), true
}

// badOffset marks a zone offset out of range; real ones are within ±24h.
const badOffset = 1 << 30

func zoneOffset(sign byte, hours, minutes int) int {
	if hours > 23 || minutes > 59 {
		return badOffset
	}
	offset := hours*3600 + minutes*60
	if sign == '-' {
		return -offset
	}
	return offset
}

// num converts a short string of ASCII digits, already checked, to an int.
func num(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
