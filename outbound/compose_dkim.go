package outbound

import (
	"fmt"
	"io"

	"github.com/emersion/go-msgauth/dkim"
)

// WriteSignedTo writes the email to w with a DKIM-Signature field
// (RFC 6376) in front. The signature is computed in a first pass over the
// same bytes (e.WriteTo is deterministic once written: go-mail keeps its
// boundaries and sorts its fields), so attachments are read twice from
// their blobs and never held; go-mail's own DKIM signing buffers the whole
// email. Do not also set a go-mail DKIM signer on e.Msg.
func (e *Email) WriteSignedTo(w io.Writer, opts *dkim.SignOptions) (int64, error) {
	s, err := dkim.NewSigner(opts)
	if err != nil {
		return 0, fmt.Errorf("dkim: %w", err)
	}
	if _, err := e.WriteTo(s); err != nil {
		s.Close()
		return 0, fmt.Errorf("dkim: hash email: %w", err)
	}
	if err := s.Close(); err != nil {
		return 0, fmt.Errorf("dkim: %w", err)
	}
	n, err := io.WriteString(w, s.Signature())
	if err != nil {
		return int64(n), err
	}
	m, err := e.WriteTo(w)
	return int64(n) + m, err
}
