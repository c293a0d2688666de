package main

import (
	"context"
	"errors"
)

// defaultPretrainData prepares the built-in default corpus and returns the
// directory of its token files and the <mask> id.
func defaultPretrainData(ctx context.Context, env *runEnv) (string, int, error) {
	return "", -1, errors.New("not wired yet")
}
