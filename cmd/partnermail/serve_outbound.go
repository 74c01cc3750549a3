package main

// wireOutbound adds the outbound service (not built yet).
func (g *gateway) wireOutbound() error { return nil }
