package main

// outboundCmds holds the message, campaign and queue commands. Placeholder
// until the outbound package's commands land here.
type outboundCmds struct{}
