package metrics

import (
	"cmp"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// fileLag reports herald_file_lag_bytes. It stats each followed file when it is
// scraped rather than when a line is read, so reading costs nothing extra and
// the value is current even while the reader is stuck.
type fileLag struct {
	desc *prometheus.Desc

	mu    sync.Mutex
	files map[fileID]*trackedFile
}

type fileID struct{ input, path string }

type trackedFile struct {
	offset func() int64
}

func newFileLag() *fileLag {
	return &fileLag{
		desc: prometheus.NewDesc(namespace+"_file_lag_bytes",
			"Bytes between the end of a followed file and the position read so far, measured when scraped.",
			[]string{"input", "path"}, nil),
		files: map[fileID]*trackedFile{},
	}
}

// TrackFile reports the lag of the file at path, followed by input, until the
// returned untrack function is called. offset returns the byte offset read so
// far; it is called from the scraping goroutine, so it must be safe to call
// concurrently with the reader (an atomic.Int64's Load, for example).
//
// A second TrackFile for the same input and path replaces the first, and the
// first one's untrack then does nothing. That is the rotation case: the
// follower of a renamed file may close after the follower of its successor at
// the same path has opened, and must not remove the successor's series.
//
// While the path cannot be stat'ed (the file was rotated away and not yet
// replaced) the file has no series; if the file is shorter than offset
// (truncated, not yet noticed by the reader) the lag is 0.
func (m *Metrics) TrackFile(input, path string, offset func() int64) (untrack func()) {
	return m.files.track(fileID{input, path}, offset)
}

func (l *fileLag) track(id fileID, offset func() int64) func() {
	t := &trackedFile{offset: offset}
	l.mu.Lock()
	l.files[id] = t
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.files[id] == t {
				delete(l.files, id)
			}
		})
	}
}

// Describe implements prometheus.Collector.
func (l *fileLag) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

// Collect implements prometheus.Collector.
func (l *fileLag) Collect(ch chan<- prometheus.Metric) {
	// Copy under the lock and stat outside it, so a slow file system does not
	// block the pipeline's TrackFile calls.
	l.mu.Lock()
	ids := make([]fileID, 0, len(l.files))
	tracked := make([]*trackedFile, 0, len(l.files))
	for id, t := range l.files {
		ids = append(ids, id)
		tracked = append(tracked, t)
	}
	l.mu.Unlock()
	for i, id := range ids {
		fi, err := os.Stat(id.path)
		if err != nil {
			continue
		}
		lag := max(fi.Size()-tracked[i].offset(), 0)
		ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, float64(lag), id.input, id.path)
	}
}

// FileOffset is a followed file and how far it has been read.
type FileOffset struct {
	Input, Path string
	Offset      int64
}

// Files returns the files followed now, sorted by input and path, with the
// offset read so far (for the status page; the lag is the caller's stat).
func (m *Metrics) Files() []FileOffset {
	m.files.mu.Lock()
	out := make([]FileOffset, 0, len(m.files.files))
	offsets := make([]func() int64, 0, len(m.files.files))
	for id, t := range m.files.files {
		out = append(out, FileOffset{Input: id.input, Path: id.path})
		offsets = append(offsets, t.offset)
	}
	m.files.mu.Unlock()
	for i := range out {
		out[i].Offset = offsets[i]()
	}
	slices.SortFunc(out, func(a, b FileOffset) int {
		return cmp.Or(strings.Compare(a.Input, b.Input), strings.Compare(a.Path, b.Path))
	})
	return out
}
