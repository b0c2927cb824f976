// Package proto holds the versioned wire protocol between the Herald agent and
// its sink plugins: sink/v1/sink.proto and the code generated from it.
//
// Nothing outside plugins/ imports the generated packages. plugins/sdk and
// plugins/host convert between them and the hand-written sdk types, so the
// protocol can evolve without breaking the Go API that sink authors use.
package proto

//go:generate go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate
