package main

// wireSMTP adds the smtp service (not built yet).
func (g *gateway) wireSMTP() error { return nil }
