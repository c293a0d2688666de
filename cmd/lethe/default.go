package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"lethe/corpus"
	"lethe/corpus/ddtp"
	"lethe/prepare"
	"lethe/tokenizer"
)

// The built-in default data: Debian's English package descriptions (DDTP),
// an 8,000-piece tokenizer trained on their training split, and token files
// made from that split. Everything is cached under defaultCache and each
// stage is skipped when its output is already there.
const (
	defaultCache     = "cache"
	defaultLang      = "en"
	defaultVocabSize = 8000
)

// defaultPretrainData prepares the built-in default corpus (fetching,
// training the tokenizer and preparing token files as needed) and returns
// the directory of its token files and the <mask> id.
func defaultPretrainData(ctx context.Context, env *runEnv) (string, int, error) {
	ddtpDir := filepath.Join(defaultCache, "ddtp")
	fmt.Fprintf(env.stderr, "default data: Debian package descriptions (%s) into %s\n", defaultLang, ddtpDir)
	if _, err := ddtp.Fetch(ctx, ddtp.Options{Dir: ddtpDir, Langs: []string{defaultLang}, Shares: ddtp.DefaultShares(), Log: env.stderr,
		Command: "lethe pretrain (built-in default)"}); err != nil {
		return "", -1, err
	}
	// Only the training split of the sources is used for pretraining: dev
	// and test sources stay held out for the later evaluation tasks.
	text := filepath.Join(ddtpDir, defaultLang, "train.txt")

	prefix := filepath.Join(defaultCache, "tokenizer", fmt.Sprintf("ddtp-%s-%d", defaultLang, defaultVocabSize))
	modelPath := prefix + ".model"
	if _, err := os.Stat(modelPath); err != nil {
		fmt.Fprintf(env.stderr, "default data: training a %d-piece tokenizer on %s\n", defaultVocabSize, text)
		if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
			return "", -1, err
		}
		o := tokenizer.DefaultTrainOptions()
		o.Inputs = []string{text}
		o.VocabSize = defaultVocabSize
		o.ModelPrefix = prefix
		o.Progress = env.stderr
		m, _, err := tokenizer.Train(ctx, o)
		if err != nil {
			return "", -1, err
		}
		if err := tokenizer.WriteTrainedModel(prefix, m); err != nil {
			return "", -1, err
		}
	}

	dataDir := filepath.Join(defaultCache, "data", fmt.Sprintf("ddtp-%s-%d", defaultLang, defaultVocabSize))
	if _, err := os.Stat(filepath.Join(dataDir, "summary.json")); err != nil {
		fmt.Fprintf(env.stderr, "default data: tokenizing %s into %s\n", text, dataDir)
		enc, err := prepare.LoadEncoder(modelPath)
		if err != nil {
			return "", -1, err
		}
		cfg := prepare.Config{
			Model:   modelPath,
			Inputs:  []string{text},
			OutDir:  dataDir,
			Split:   corpus.Split{ValidFraction: 0.02, Seed: 1},
			Workers: runtime.NumCPU(),
		}
		if _, err := prepare.Run(ctx, cfg, enc, env.stderr); err != nil {
			return "", -1, err
		}
	}
	mask, err := summaryMaskID(dataDir)
	return dataDir, mask, err
}
