package main

// wireIMAP adds the imap service (not built yet).
func (g *gateway) wireIMAP() error { return nil }
