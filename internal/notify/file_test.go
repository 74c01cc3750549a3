package notify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events", "events")
	pub := NewFilePublisher(path)
	// Written before serve started: skipped.
	if err := pub.Publish(context.Background(), Queue, 1); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	local := NewLocal()
	w := &FileWatcher{Path: path, Local: local, Poll: 5 * time.Millisecond}
	queue, stop := local.Subscribe(Queue, 0)
	defer stop()
	seven, stop7 := local.Subscribe(Mail, 7)
	defer stop7()
	eight, stop8 := local.Subscribe(Mail, 8)
	defer stop8()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	time.Sleep(20 * time.Millisecond) // the watcher has taken its starting offset
	quiet(t, queue, "event published before the watcher started")
	pub.Publish(context.Background(), Queue, 3)
	waitWake(t, queue, "queue event from another process")
	pub.Publish(context.Background(), Mail, 7)
	waitWake(t, seven, "company 7")
	quiet(t, eight, "company 8 after company 7's event")

	// A file that starts over wakes everyone.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitWake(t, eight, "after the events file started over")
	pub.Publish(context.Background(), Mail, 8)
	waitWake(t, eight, "event after the file started over")

	// The publisher starts the file over past its cap.
	os.WriteFile(path, []byte(strings.Repeat("x", maxEventsFile+1)), 0o600)
	pub.Publish(context.Background(), Queue, 1)
	if st, _ := os.Stat(path); st.Size() > 100 {
		t.Errorf("events file is %d bytes after a publish past the cap", st.Size())
	}
}
