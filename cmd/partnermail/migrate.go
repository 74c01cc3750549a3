package main

type migrateCmd struct{}

// Run opens the store, which applies pending migrations.
func (c *migrateCmd) Run(a *app) error {
	s, err := a.open()
	if err != nil {
		return err
	}
	return a.done(map[string]string{"driver": s.Driver()}, "database (%s) is up to date", s.Driver())
}
