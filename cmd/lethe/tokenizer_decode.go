package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"lethe/tokenizer"
)

func tokenizerDecodeCommand() *command {
	return &command{
		name:    "tokenizer decode",
		summary: "decode lines of pieces or ids into text, as spm_decode does",
		usage: `Reads pieces (or ids) separated by spaces from stdin, one sentence per line,
and writes the decoded text, one line per input line, exactly as SentencePiece's
spm_decode does. An id outside the vocabulary is an error naming the line.`,
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *runEnv) error {
			model := fs.String("model", "", "SentencePiece model `file` (.model, required)")
			format := fs.String("input_format", "piece", "input `format`: piece or id")
			maxLine := fs.Int("max-line-bytes", 1<<20, "longest accepted input line, in bytes")
			return func(ctx context.Context, env *runEnv) error {
				if *model == "" {
					return errors.New("--model is required")
				}
				if *format != "piece" && *format != "id" {
					return fmt.Errorf("--input_format %q: expected piece or id", *format)
				}
				m, err := tokenizer.Load(*model)
				if err != nil {
					return err
				}
				ids := *format == "id"
				return processLines(ctx, env.stdin, env.stdout, *maxLine, func(dst []byte, line string, scratch *[]int32) ([]byte, error) {
					if !ids {
						// As spm_decode: split at single spaces.
						return append(dst, m.DecodePieces(strings.Split(line, " "))...), nil
					}
					fields := strings.Fields(line)
					*scratch = (*scratch)[:0]
					for i, f := range fields {
						id, err := strconv.ParseInt(f, 10, 32)
						if err != nil || id < 0 || int(id) >= m.Size() {
							return dst, fmt.Errorf("field %d %q: expected an id in [0, %d)", i+1, f, m.Size())
						}
						*scratch = append(*scratch, int32(id))
					}
					return append(dst, m.Decode(*scratch)...), nil
				})
			}
		},
	}
}
