package authcheck

import (
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

func messageHeader(h textproto.Header) gomessage.Header { return gomessage.Header{Header: h} }
