package main

import (
	"context"
	"errors"
	"flag"
)

// TODO(owner of this file): replace this placeholder with the real command.
func dataFetchCommand() *command {
	return &command{
		name:    "data fetch",
		summary: "(not built yet)",
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *runEnv) error {
			return func(ctx context.Context, env *runEnv) error { return errors.New("not built yet") }
		},
	}
}
