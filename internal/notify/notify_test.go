package notify

import (
	"context"
	"testing"
)

func TestLocal(t *testing.T) {
	h := NewLocal()
	one, cancelOne := h.Subscribe(Mail, 1)
	all, cancelAll := h.Subscribe(Mail, 0)
	two, cancelTwo := h.Subscribe(Mail, 2)
	defer cancelAll()
	defer cancelTwo()
	for range 3 { // coalesced: never blocks
		h.Publish(context.Background(), Mail, 1)
	}
	h.Publish(context.Background(), Queue, 1)
	for name, ch := range map[string]<-chan struct{}{"company 1": one, "all companies": all} {
		select {
		case <-ch:
		default:
			t.Errorf("%s: no wake-up", name)
		}
	}
	select {
	case <-two:
		t.Errorf("company 2 woken by company 1's event")
	case <-one:
		t.Errorf("company 1 woken twice, or by another topic")
	default:
	}
	cancelOne()
	cancelOne()
	h.Publish(context.Background(), Mail, 1)
	select {
	case <-one:
		t.Errorf("woken after cancel")
	default:
	}
}
