package storage

import "testing"

func TestDeliveryKeyword(t *testing.T) {
	for _, c := range []struct {
		state, lastErr, want string
	}{
		{QueueQueued, "", KeywordQueued},
		{QueueQueued, "451 4.3.0 try later", KeywordDeferred},
		{QueueSent, "", KeywordDelivered},
		{QueueFailed, "550 5.1.1 no such user", KeywordBounced},
		{QueueDropped, "", ""},
	} {
		if got := DeliveryKeyword(DeliveryRank(c.state, c.lastErr)); got != c.want {
			t.Errorf("DeliveryKeyword(DeliveryRank(%q, %q)) = %q, want %q", c.state, c.lastErr, got, c.want)
		}
	}
}
