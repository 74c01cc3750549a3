package main

// wire adds the services of the gateway: each serve_*.go file adds one.
func (g *gateway) wire() error {
	return nil
}
