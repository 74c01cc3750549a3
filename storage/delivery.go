package storage

// IMAP keywords of the messages in the shared Sent folder: the state of the
// notification emails of a staff message (SPEC.md "IMAP view"; issue 6), so
// that a failed delivery is never silent.
const (
	KeywordQueued    = "$Queued"    // waiting for its first attempt
	KeywordDeferred  = "$Deferred"  // an attempt failed temporarily; retried
	KeywordDelivered = "$Delivered" // accepted by the relay (or captured)
	KeywordBounced   = "$Bounced"   // failed for good
)

// DeliveryKeywords lists the delivery keywords from least to most
// advanced.
var DeliveryKeywords = []string{KeywordQueued, KeywordDeferred, KeywordDelivered, KeywordBounced}

// DeliveryRank orders the state of one outbound email: 0 (dropped or
// unknown: no keyword) up to 4 (bounced); a queued email with an error
// was deferred. Of a message's emails the most
// advanced rank wins.
func DeliveryRank(state, lastError string) int {
	switch state {
	case QueueQueued:
		if lastError != "" {
			return 2
		}
		return 1
	case QueueSent:
		return 3
	case QueueFailed:
		return 4
	}
	return 0
}

// DeliveryKeyword returns the keyword of a rank, "" for 0.
func DeliveryKeyword(rank int) string {
	if rank < 1 || rank > len(DeliveryKeywords) {
		return ""
	}
	return DeliveryKeywords[rank-1]
}
