package main

// outboundCmds holds the message, campaign and queue commands.
type outboundCmds struct {
	Message  messageCmd  `cmd:"" help:"Staff messages to partner teams and members."`
	Campaign campaignCmd `cmd:"" help:"Email campaigns to partner groups."`
	Queue    queueCmd    `cmd:"" help:"The outbound queue: list, retry, drop."`
}
