package receiver

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func amBody() []byte {
	var b strings.Builder
	b.WriteString(`{"receiver":"receiver","status":"firing","version":"4","groupKey":"{}:{alertname=\"qlik-reload-failed\"}","truncatedAlerts":0,"groupLabels":{"alertname":"qlik-reload-failed"},"commonLabels":{"alertname":"qlik-reload-failed","host":"bench","severity":"critical"},"commonAnnotations":{},"externalURL":"","alerts":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"status":"firing","labels":{"alertname":"qlik-reload-failed","app_id":"0a1b2c3d-1111-2222-3333-44445555%04d","app_name":"Sales app %d","host":"bench","severity":"critical","task_id":"bfa83a7b-f6ef-4af4-a817-a3a68969%04d","task_name":"Reload Sales %d"},"annotations":{"summary":"Qlik Sense reload failed: Reload Sales %d","description":"Reload task \"Reload Sales\" failed after 3 attempts: Max retries reached (Task finished with state FinishedFail)","ExecutionId":"9c8b7a6d-1111-2222-3333-44445555%04d","Hostname":"BENCH-NODE1","User":"INTERNAL\\sa_scheduler"},"startsAt":"2026-03-01T12:00:00.123+01:00","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"c3a1e2b4d5f6%04d"}`, i, i, i, i, i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func ndjsonBody() []byte {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, `{"Timestamp":"20260301T120000.123+0100","Level":"ERROR","Hostname":"BENCH-NODE1","Logger":"System.Scheduler.Scheduler.Slave.Tasks.ReloadTask","Thread":"123","Id":"9c8b7a6d-1111-2222-3333-44445555%04d","ServiceUser":"INTERNAL\\sa_scheduler","Message":"Task finished with state FinishedFail","Exception":"","ProxySessionId":"0","ProxyPackageId":"0","RequestSequenceId":"0","TaskName":"Reload Sales %d","TaskId":"bfa83a7b-f6ef-4af4-a817-a3a68969%04d","AppName":"Sales app %d","AppId":"0a1b2c3d-1111-2222-3333-44445555%04d","ExecutionId":"9c8b7a6d-1111-2222-3333-44445555%04d"}`+"\n", i, i, i, i, i, i)
	}
	return []byte(b.String())
}

// BenchmarkDecode measures what the receiver spends on one batch of 100 events
// in each shape the benchmark sends: it shares the cores with the program
// measured.
func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct {
		name string
		body []byte
	}{{"alertmanager", amBody()}, {"ndjson", ndjsonBody()}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				evs, err := decode(tc.body, time.Time{})
				if err != nil || len(evs) != 100 {
					b.Fatal(err, len(evs))
				}
			}
		})
	}
}
