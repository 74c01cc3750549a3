package main

// wireSubmission adds the submission service (not built yet).
func (g *gateway) wireSubmission() error { return nil }
