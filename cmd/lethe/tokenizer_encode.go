package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"

	"lethe/tokenizer"
)

func tokenizerEncodeCommand() *command {
	return &command{
		name:    "tokenizer encode",
		summary: "encode text lines into pieces or ids, as spm_encode does",
		usage: `Reads text from stdin, one sentence per line, and writes one line per input
line to stdout: the pieces (or ids) separated by single spaces, exactly as
SentencePiece's spm_encode writes them. An empty line gives an empty line.
Lines are encoded in parallel on all cores; the output keeps the input order.`,
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *runEnv) error {
			model := fs.String("model", "", "SentencePiece model `file` (.model, required)")
			format := fs.String("output_format", "piece", "output `format`: piece or id")
			maxLine := fs.Int("max-line-bytes", 1<<20, "longest accepted input line, in bytes")
			return func(ctx context.Context, env *runEnv) error {
				if *model == "" {
					return errors.New("--model is required")
				}
				var ids bool
				switch *format {
				case "piece":
				case "id":
					ids = true
				default:
					return fmt.Errorf("--output_format %q: expected piece or id", *format)
				}
				m, err := tokenizer.Load(*model)
				if err != nil {
					return err
				}
				return processLines(ctx, env.stdin, env.stdout, *maxLine, func(dst []byte, line string, scratch *[]int32) ([]byte, error) {
					if !ids {
						return m.AppendPieceText(dst, line), nil
					}
					*scratch = m.AppendIDs((*scratch)[:0], line)
					for i, id := range *scratch {
						if i > 0 {
							dst = append(dst, ' ')
						}
						dst = strconv.AppendInt(dst, int64(id), 10)
					}
					return dst, nil
				})
			}
		},
	}
}

// lineFunc appends the output for one input line (without its newline) to
// dst; scratch is a per-worker buffer.
type lineFunc func(dst []byte, line string, scratch *[]int32) ([]byte, error)

// lineBatch is a run of input lines processed by one worker.
type lineBatch struct {
	first int // 1-based number of the first line
	lines []string
	out   chan batchResult
}

type batchResult struct {
	data []byte
	err  error
}

// processLines reads r line by line (lines end at '\n', which is removed; a
// last line without '\n' counts), applies fn to each line on all cores in
// batches and writes the results, one line each, in input order. A line
// longer than maxLine bytes is an error naming it, found before the line is
// held in memory whole.
func processLines(ctx context.Context, r io.Reader, w io.Writer, maxLine int, fn lineFunc) error {
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan *lineBatch, workers)
	order := make(chan *lineBatch, 2*workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	for i := 0; i < workers; i++ {
		go func() {
			var scratch []int32
			for b := range jobs {
				var res batchResult
				for i, line := range b.lines {
					var err error
					res.data, err = fn(res.data, line, &scratch)
					if err != nil {
						res.err = fmt.Errorf("stdin line %d: %w", b.first+i, err)
						break
					}
					res.data = append(res.data, '\n')
				}
				b.out <- res
			}
		}()
	}

	readErr := make(chan error, 1)
	go func() {
		defer close(jobs)
		defer close(order)
		br := bufio.NewReaderSize(r, 1<<20)
		const maxBatchBytes = 64 << 10
		const maxBatchLines = 256
		lineNo := 1
		var cur *lineBatch
		size := 0
		flush := func() bool {
			if cur == nil {
				return true
			}
			select {
			case order <- cur:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- cur:
			case <-ctx.Done():
				return false
			}
			cur, size = nil, 0
			return true
		}
		for {
			line, err := readLineLimited(br, maxLine)
			if errors.Is(err, errLineTooLong) {
				flush()
				readErr <- fmt.Errorf("stdin: line %d is longer than %d bytes (--max-line-bytes)", lineNo, maxLine)
				return
			}
			if len(line) > 0 {
				if line[len(line)-1] == '\n' {
					line = line[:len(line)-1]
				}
				if cur == nil {
					cur = &lineBatch{first: lineNo, out: make(chan batchResult, 1)}
				}
				cur.lines = append(cur.lines, line)
				lineNo++
				size += len(line)
				if size >= maxBatchBytes || len(cur.lines) >= maxBatchLines {
					if !flush() {
						readErr <- ctx.Err()
						return
					}
				}
			}
			if err == io.EOF {
				flush()
				readErr <- nil
				return
			}
			if err != nil {
				flush()
				readErr <- fmt.Errorf("reading stdin at line %d: %w", lineNo, err)
				return
			}
		}
	}()

	bw := bufio.NewWriterSize(w, 1<<20)
	for b := range order {
		res := <-b.out
		if res.err != nil {
			bw.Flush()
			return res.err
		}
		if _, err := bw.Write(res.data); err != nil {
			return fmt.Errorf("writing stdout: %w", err)
		}
	}
	if err := <-readErr; err != nil {
		bw.Flush()
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing stdout: %w", err)
	}
	return nil
}

// errLineTooLong is readLineLimited's error for a line over its limit.
var errLineTooLong = errors.New("line too long")

// readLineLimited reads up to and including the next '\n', as ReadString
// does, but fails with errLineTooLong as soon as the line passes max bytes.
func readLineLimited(br *bufio.Reader, max int) (string, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		n := len(buf) + len(chunk) // bytes of the line so far, its newline included
		if err == nil {
			n-- // the newline
		}
		if n > max {
			return "", errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			buf = append(buf, chunk...)
			continue
		}
		return string(append(buf, chunk...)), err
	}
}
