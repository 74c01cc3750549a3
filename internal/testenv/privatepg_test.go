package testenv

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestPrivatePostgres(t *testing.T) {
	p := StartPrivatePostgres(t)
	ctx := context.Background()
	ping := func() error {
		c, err := pgx.Connect(ctx, p.DSN())
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		return c.Ping(ctx)
	}
	if err := ping(); err != nil {
		t.Fatalf("connect to the private server: %v", err)
	}
	p.Stop("immediate")
	if err := ping(); err == nil {
		t.Fatal("the private server still answers after Stop")
	}
	p.Start()
	if err := ping(); err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
}
