package main

// wire adds the services of the gateway, in the order they must start:
// each serve_*.go file adds one (listeners with g.add, workers to
// g.workers) and registers its metrics on g.reg.
func (g *gateway) wire() error {
	for _, w := range []func() error{g.wireOutbound, g.wireSMTP, g.wireSubmission, g.wireIMAP} {
		if err := w(); err != nil {
			return err
		}
	}
	return nil
}
