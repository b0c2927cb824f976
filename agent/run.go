package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/agent/dispatch"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/server"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/host"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	// pruneEvery is how often old dedup ids, resolved alerts and positions of
	// vanished files are removed from the state.
	pruneEvery = time.Hour
	// keepSeen is how long an outcome's dedup id is remembered: long enough for
	// a re-read file or a second scheduler node to be recognised.
	keepSeen = 7 * 24 * time.Hour
	// keepResolved is how long a resolved alert stays listed.
	keepResolved = 7 * 24 * time.Hour
	// keepPositions is how long the position of a file not seen any more is kept.
	keepPositions = 30 * 24 * time.Hour
)

// RunOptions change how Run ends.
type RunOptions struct {
	// Once reads every input to its current end, delivers what that raised and
	// returns, instead of following the files.
	Once bool
	// DrainTimeout bounds how long Once waits for sinks to accept what is
	// queued. Undelivered events stay queued for the next run. Default 30s.
	DrainTimeout time.Duration
	// Load builds the agent from the config again, for a reload; nil
	// disables reloading.
	Load func() (*Agent, error)
	// Reload asks for a reload (SIGHUP). Changes to the config file and the
	// rule files ask for one too.
	Reload <-chan struct{}
}

// StatePath is where the agent keeps its state inside data_dir.
func StatePath(dataDir string) string { return filepath.Join(dataDir, "herald.db") }

// Run starts the sinks, tails the inputs and delivers alerts until ctx is done
// (or, with Once, until the inputs are read and the outboxes drained). A sink
// whose plugin cannot start or rejects its config fails start-up.
//
// With RunOptions.Load set, a signal on RunOptions.Reload or a change to the
// config or rule files reloads: the new config is loaded and its sink plugins
// started first; only then is the running configuration stopped and the new
// one started on the same state. A new config that does not load is reported
// and the running one kept.
func (a *Agent) Run(ctx context.Context, ro RunOptions) error {
	if ro.DrainTimeout == 0 {
		ro.DrainTimeout = 30 * time.Second
	}
	store, err := state.Open(StatePath(a.cfg.Agent.DataDir), state.Options{Logger: a.log})
	if err != nil {
		return err
	}
	defer store.Close()

	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	if a.opts.Version != "" {
		m.SetBuildInfo(a.opts.Version, a.opts.Commit)
	}
	// The self-watch spans reloads (see below): a condition keeps when it
	// started.
	reg.MustRegister(a.self.watch.Collector())
	defer a.startHeartbeat(ctx, m, ro.Once)()

	var current atomic.Pointer[Agent]
	current.Store(a)
	reg.MustRegister(metrics.NewScriptLogDirCollector(scriptLogDirsUp(&current)))
	go watchScriptLogs(ctx, &current)
	var reload <-chan struct{}
	if ro.Load != nil && !ro.Once {
		trigger := make(chan struct{}, 1)
		reload = trigger
		go forward(ctx, ro.Reload, trigger)
		go newFileWatcher(func() watchSet { return current.Load().watchSet() }, a.log).run(ctx, trigger)
	}

	cur, plugins := a, map[string]*host.Plugin(nil)
	for {
		next, nextPlugins, err := cur.serve(ctx, store, reg, m, ro, reload, plugins)
		if next == nil {
			return err
		}
		if next.cfg.Agent.DataDir != cur.cfg.Agent.DataDir {
			a.log.Warn("data_dir changed in the config; it takes effect at the next restart", "running", cur.cfg.Agent.DataDir)
			next.cfg.Agent.DataDir = cur.cfg.Agent.DataDir
		}
		next.self, next.sil = cur.self, cur.sil
		a.warnHeartbeatChange(next)
		cur, plugins = next, nextPlugins
		current.Store(cur)
		a.log.Info("configuration reloaded", "config", cur.cfg.Path, "rules", len(cur.rules.Rules()), "sinks", len(cur.sinks))
	}
}

// serve runs one configuration until ctx ends (nil next), Once is done (nil
// next), or a reload succeeds: then it stops everything it started and returns
// the next agent, with that agent's plugins already running.
func (a *Agent) serve(ctx context.Context, store *state.Store, reg *prometheus.Registry, m *metrics.Metrics, ro RunOptions,
	reload <-chan struct{}, started map[string]*host.Plugin) (next *Agent, nextPlugins map[string]*host.Plugin, err error) {
	for _, r := range a.rules.Rules() {
		m.Rule(r.ID)
	}

	// Start every plugin up front so a broken sink fails start-up, naming it.
	sinks := make([]*runningSink, 0, len(a.sinks))
	defer func() {
		for _, s := range sinks {
			s.close()
		}
	}()
	for _, s := range a.sinks {
		p := started[s.cfg.Name]
		if p == nil {
			if p, err = a.startSink(ctx, s); err != nil {
				return nil, nil, err
			}
		}
		m.Sink(s.cfg.Name).SetUp(true)
		sinks = append(sinks, &runningSink{agent: a, spec: s, plugin: p, metrics: m})
	}

	dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDispatch()
	var dwg sync.WaitGroup
	dispatchers := map[string]*dispatch.Dispatcher{}
	for _, s := range sinks {
		dispatchers[s.spec.cfg.Name] = dispatch.New(dispatch.Config{
			Sink:      s.spec.cfg.Name,
			Store:     store,
			Logger:    a.log, // the dispatcher adds sink=NAME
			BatchSize: s.spec.cfg.BatchSize,
			Connect:   s.connect,
			Observer:  a.self.observer(m.Dispatch()),
		})
	}
	notify := func(sink string) {
		if d, ok := dispatchers[sink]; ok {
			d.Notify()
		}
	}

	// Silences apply from the first event on, and end at their time.
	a.watchSilences(dctx, &dwg, store, m, notify)

	// The server starts before the dispatchers run, so that a port in use
	// fails start-up before anything is sent; its hooks may queue events at
	// once, which the dispatchers pick up when they start.
	if a.cfg.Server.Listen != "" {
		srv := server.New(server.Config{
			Listen:   a.cfg.Server.Listen,
			Logger:   a.log,
			Registry: reg,
			Health:   func() server.Health { return a.health(m) },
			Alerts:   func() (any, error) { return openAlerts(store) },
			Page:     a.statusPage(store, m, notify),

			AlertsToken: a.cfg.Server.AlertsToken,
			TLSCertFile: a.cfg.Server.TLSCertFile, TLSKeyFile: a.cfg.Server.TLSKeyFile,
		})
		for _, h := range a.hooks {
			im := m.Input(h.cfg.Name)
			im.SetUp(true)
			h.run = &hookRun{agent: a, store: store, metrics: m, im: im, notify: notify, eval: a.rules.NewEvaluator(),
				requests: m.HookRequests(h.cfg.Name)}
			srv.Handle(h.cfg.Path, h.handler)
		}
		srv.Handle(PathSilences, a.silencesHandler())
		if err := srv.Start(); err != nil {
			return nil, nil, err
		}
		a.log.Info("serving metrics and health", "addr", srv.Addr(), "hooks", len(a.hooks))
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}

	for name, d := range dispatchers {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			if err := d.Run(dctx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("dispatcher stopped", "sink", name, "err", err)
			}
		}()
	}

	dwg.Add(1)
	go func() {
		defer dwg.Done()
		a.prune(dctx, store)
	}()
	if !ro.Once {
		dwg.Add(1)
		go func() {
			defer dwg.Done()
			a.newSelfAlerter(store, m, sinks, notify).run(dctx)
		}()
		a.startResend(dctx, &dwg, store, notify)
	}

	caps := map[string]int{}
	for _, s := range a.sinks {
		caps[s.cfg.Name] = s.cfg.MaxPending
	}
	ictx, stopInputs := context.WithCancel(ctx)
	defer stopInputs()
	var iwg sync.WaitGroup
	errc := make(chan error, len(a.inputs))
	for _, in := range a.inputs {
		iwg.Add(1)
		go func() {
			defer iwg.Done()
			im := m.Input(in.cfg.Name)
			im.SetUp(true)
			p := &pipeline{agent: a, in: in, store: store, notify: notify, once: ro.Once, metrics: m, im: im, caps: caps, pace: defaultPacing}
			if err := p.run(ictx); err != nil && !errors.Is(err, context.Canceled) {
				im.SetUp(false)
				errc <- fmt.Errorf("input %q: %w", in.cfg.Name, err)
			}
		}()
	}
	inputsDone := make(chan struct{})
	go func() {
		iwg.Wait()
		close(inputsDone)
	}()
	a.log.Info("herald running", "inputs", len(a.inputs)+len(a.hooks), "rules", len(a.rules.Rules()), "sinks", len(sinks), "data_dir", a.cfg.Agent.DataDir)

	// Dispatchers outlive the inputs so what the inputs queued can go out;
	// they stop on shutdown, on reload, or when Once has drained.
wait:
	for {
		select {
		case <-inputsDone:
			if ro.Once {
				break wait
			}
			<-ctx.Done() // every input failed: keep delivering until shutdown
			break wait
		case <-ctx.Done():
			break wait
		case <-reload:
			next, nextPlugins = a.prepareReload(ctx, ro.Load)
			if next != nil {
				break wait
			}
		}
	}
	stopInputs()
	<-inputsDone
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	if ro.Once && len(errs) == 0 {
		errs = append(errs, a.drain(ctx, store, ro.DrainTimeout))
	}
	stopDispatch()
	dwg.Wait()
	if next == nil {
		a.log.Info("herald stopped")
	}
	return next, nextPlugins, errors.Join(errs...)
}

// prepareReload loads the new configuration and starts its sink plugins, so
// that a broken one is found before anything running is stopped. On failure it
// logs why and returns nil: the running configuration stays.
func (a *Agent) prepareReload(ctx context.Context, load func() (*Agent, error)) (*Agent, map[string]*host.Plugin) {
	a.log.Info("reloading the configuration", "config", a.cfg.Path)
	next, err := load()
	if err != nil {
		a.log.Error("the new configuration has problems; keeping the running one", "err", err)
		return nil, nil
	}
	plugins := map[string]*host.Plugin{}
	for _, s := range next.sinks {
		p, err := next.startSink(ctx, s)
		if err != nil {
			for _, p := range plugins {
				p.Close()
			}
			a.log.Error("the new configuration has problems; keeping the running one", "err", err)
			return nil, nil
		}
		plugins[s.cfg.Name] = p
	}
	return next, plugins
}

// drain waits until every sink's outbox is empty, or the timeout passes.
func (a *Agent) drain(ctx context.Context, store *state.Store, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		left := 0
		for _, s := range a.sinks {
			n, err := store.Depth(s.cfg.Name)
			if err != nil {
				return err
			}
			left += n
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%d events not delivered within %s; they stay queued for the next run (see `herald outbox`)", left, timeout)
		case <-tick.C:
		}
	}
}

// openAlerts lists the alerts in the state, for /alerts.
func openAlerts(store *state.Store) ([]state.Alert, error) {
	out := []state.Alert{}
	err := store.View(func(tx *state.Tx) error {
		out = append(out, tx.Alerts(nil)...)
		return nil
	})
	return out, err
}

// prune removes state that is no longer needed, once an hour, until ctx ends.
func (a *Agent) prune(ctx context.Context, store *state.Store) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := a.opts.Now()
		err := store.Update(func(tx *state.Tx) error {
			if _, err := tx.PruneSeen(now.Add(-keepSeen)); err != nil {
				return err
			}
			if _, err := tx.PruneResolved(now.Add(-keepResolved)); err != nil {
				return err
			}
			_, err := tx.PrunePositions(now.Add(-keepPositions))
			return err
		})
		if err != nil {
			a.log.Warn("pruning old state failed", "err", err)
		}
	}
}

// runningSink holds a sink's current plugin process; the dispatcher restarts it
// through connect when it dies.
type runningSink struct {
	agent   *Agent
	spec    *sinkSpec
	metrics *metrics.Metrics
	mu      sync.Mutex
	plugin  *host.Plugin
	handed  bool // the plugin started at start-up went to the dispatcher
}

// connect hands the dispatcher a live plugin: the one started at start-up, or a
// fresh one when the previous process exited.
func (s *runningSink) connect(ctx context.Context) (dispatch.Sender, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plugin != nil && !s.handed && !s.plugin.Exited() {
		s.handed = true
		return s.metrics.InstrumentSender(s.spec.cfg.Name, s.plugin), nil
	}
	// Asked again: the last plugin failed (exited, or broke the protocol), so it
	// is replaced by a fresh process.
	if s.plugin != nil {
		s.plugin.Close()
		s.plugin = nil
	}
	p, err := s.agent.startSink(ctx, s.spec)
	if err != nil {
		return nil, err
	}
	s.plugin = p
	return s.metrics.InstrumentSender(s.spec.cfg.Name, p), nil
}

// sendDirect sends one event to the sink's running plugin outside its
// dispatcher and outbox: for a self-alert that the state could not save.
func (s *runningSink) sendDirect(ctx context.Context, ev sdk.Event) (sdk.Result, error) {
	s.mu.Lock()
	p := s.plugin
	s.mu.Unlock()
	if p == nil || p.Exited() {
		return sdk.Result{}, fmt.Errorf("sink %q: no running plugin", s.spec.cfg.Name)
	}
	res, err := p.Send(ctx, []sdk.Event{ev})
	if err != nil {
		return sdk.Result{}, err
	}
	if len(res) != 1 {
		return sdk.Result{}, fmt.Errorf("sink %q: %d answers for one event", s.spec.cfg.Name, len(res))
	}
	return res[0], nil
}

func (s *runningSink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plugin != nil {
		s.plugin.Close()
		s.plugin = nil
	}
}
