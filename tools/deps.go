//go:build tools

// Package tools pins the module's dependencies while packages that use them are written.
package tools

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/cenkalti/backoff/v5"
	_ "github.com/expr-lang/expr"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/kardianos/service"
	_ "github.com/nxadm/tail"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/schollz/progressbar/v3"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/sys/unix"
	_ "golang.org/x/time/rate"
	_ "google.golang.org/grpc"
	_ "google.golang.org/protobuf/proto"
)
