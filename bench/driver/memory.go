package driver

import (
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/heraldhq/herald/bench/procstat"
)

// memSampleEvery is how often the memory of the agent's process tree is read
// during catch-up. Reading smaps_rollup walks a process's mappings under its
// memory-map lock; at this interval that is well under 1 % of a core.
const memSampleEvery = 50 * time.Millisecond

// treeEvery is how many samples pass between re-listing the tree's
// processes: listing reads every process's stat, which costs more than the
// samples, and plugins start only once, early.
const treeEvery = 10

// memPeak is the most memory seen, per process and summed over the tree.
type memPeak struct {
	procs map[int]procstat.Memory // per pid: the highest PSS and, separately, the highest Anonymous
	sum   procstat.Memory         // the highest sums of one sample
	n     int                     // samples taken
}

// memSampler reads the memory of a process tree periodically until stopped.
type memSampler struct {
	root  int
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	peak  memPeak
}

// sampleMemory starts sampling the tree under pid.
func sampleMemory(pid int) *memSampler {
	s := &memSampler{root: pid, stopc: make(chan struct{}), done: make(chan struct{}), peak: memPeak{procs: map[int]procstat.Memory{}}}
	go s.loop()
	return s
}

func (s *memSampler) loop() {
	defer close(s.done)
	t := time.NewTicker(memSampleEvery)
	defer t.Stop()
	pids := []int{s.root}
	for i := 0; ; i++ {
		if i%treeEvery == 0 {
			if tree, err := treePIDs(s.root); err == nil {
				pids = tree
			}
		}
		s.sample(pids)
		select {
		case <-s.stopc:
			return
		case <-t.C:
		}
	}
}

// sample reads pids once and raises the peaks.
func (s *memSampler) sample(pids []int) {
	var sum procstat.Memory
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pid := range pids {
		m, err := procstat.ReadMemory(pid)
		if err != nil {
			continue // exited: a restart shows in the checks
		}
		sum.PSS += m.PSS
		sum.Anonymous += m.Anonymous
		s.peak.procs[pid] = maxMemory(s.peak.procs[pid], m)
	}
	s.peak.sum = maxMemory(s.peak.sum, sum)
	s.peak.n++
}

// stop takes a last sample and returns the peaks.
func (s *memSampler) stop() memPeak {
	close(s.stopc)
	<-s.done
	if pids, err := treePIDs(s.root); err == nil {
		s.sample(pids)
	}
	return s.peak
}

// treePIDs lists pid and its descendants.
func treePIDs(pid int) ([]int, error) {
	procs, err := procstat.Tree(pid)
	if err != nil {
		return nil, err
	}
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.PID
	}
	return pids, nil
}

func maxMemory(a, b procstat.Memory) procstat.Memory {
	return procstat.Memory{PSS: max(a.PSS, b.PSS), Anonymous: max(a.Anonymous, b.Anonymous)}
}

// treeMemory reads the memory of procs now, in their order.
func treeMemory(procs []procstat.Proc) ([]procstat.Memory, error) {
	ms := make([]procstat.Memory, len(procs))
	for i, p := range procs {
		m, err := procstat.ReadMemory(p.PID)
		if err != nil {
			return nil, err
		}
		ms[i] = m
	}
	return ms, nil
}

// dirSize is the total size of the regular files under dir: the agent's
// state, whatever files the state engine keeps there.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
