package bufpool

import (
	"testing"

	"google.golang.org/grpc/mem"
)

func TestPool(t *testing.T) {
	var p Pool
	for _, n := range []int{0, 10, 60_000, 100, 70_000} {
		b := p.Get(n)
		if len(*b) != n {
			t.Fatalf("Get(%d) has length %d", n, len(*b))
		}
		for i := range *b {
			(*b)[i] = 1
		}
		p.Put(b)
	}
}

// BenchmarkPool copies a batch of 100 events as gRPC receives it (four
// HTTP/2 frames, 60 kB) into one buffer and frees it, as the SDK's decoder
// does, with gRPC's default pool and with Pool.
func BenchmarkPool(b *testing.B) {
	var msg mem.BufferSlice
	for range 4 {
		msg = append(msg, mem.SliceBuffer(make([]byte, 15_000)))
	}
	for _, bc := range []struct {
		name string
		pool mem.BufferPool
	}{{"default", mem.DefaultBufferPool()}, {"bufpool", &Pool{}}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				msg.MaterializeToBuffer(bc.pool).Free()
			}
		})
	}
}
