package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/warnlimit"
)

// certCheckInterval is how often, at most, the certificate files are looked
// at for a change: on a TLS handshake, once this long after the last look.
const certCheckInterval = 5 * time.Second

// certReloader serves the certificate of a cert and key file pair and loads
// it again when either file's modification time or size changes. A pair that
// fails to load (the cert is written, the key not yet) leaves the previous
// certificate in service and is tried again at the next check.
type certReloader struct {
	certFile, keyFile string
	interval          time.Duration
	now               func() time.Time
	log               *slog.Logger
	warn              *warnlimit.Limiter

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp // of certFile, keyFile as loaded
	checked time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) *certReloader {
	return &certReloader{
		certFile: certFile, keyFile: keyFile, interval: certCheckInterval, now: time.Now,
		log: log, warn: warnlimit.New(log, time.Minute, nil),
	}
}

// load reads the pair; Start calls it so that a bad pair fails start-up.
func (c *certReloader) load() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp, err := c.stamps()
	if err != nil {
		return err
	}
	return c.loadLocked(stamp)
}

func (c *certReloader) stamps() ([2]fileStamp, error) {
	var st [2]fileStamp
	for i, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return st, err
		}
		st[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return st, nil
}

func (c *certReloader) loadLocked(stamp [2]fileStamp) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.stamp, c.checked = &cert, stamp, c.now()
	return nil
}

// getCertificate is tls.Config.GetCertificate.
func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.checked) >= c.interval {
		c.checked = now
		stamp, err := c.stamps()
		if err == nil && stamp != c.stamp {
			err = c.loadLocked(stamp)
			if err == nil {
				c.log.Info("TLS certificate reloaded", "cert_file", c.certFile)
			}
		}
		if err != nil {
			c.warn.Warn("cannot reload the TLS certificate; serving the previous one", "err", err)
		}
	}
	return c.cert, nil
}
