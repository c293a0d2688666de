// Command lethe pretrains, adapts and evaluates plastic RoBERTa language models
// ("pretraining with active forgetting", Chen et al., NeurIPS 2023) on CPU.
//
// Run "lethe help" for the list of commands and "lethe help COMMAND" for the
// flags of one command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"lethe/checkpoint"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand of lethe. Each lives in its own file and builds
// its flag set in flags, so that "lethe help COMMAND" and the parser agree.
type command struct {
	name    string // e.g. "pretrain", or "tokenizer train"
	summary string // one line for the command list
	usage   string // paragraph(s) shown by "lethe help COMMAND"
	flags   func(fs *flag.FlagSet) func(ctx context.Context, env *runEnv) error
}

// runEnv is what a command sees of the process: its output streams and the
// positional arguments left after flag parsing.
type runEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	args   []string
}

// commands lists every subcommand. Adding a command means adding one line here
// and one file beside this one.
func commands() []*command {
	return []*command{
		pretrainCommand(),
		adaptCommand(),
		finetuneCommand(),
		spliceCommand(),
		evalCommand(),
		experimentCommand(),
		prepareCommand(),
		tokenizerTrainCommand(),
		tokenizerEncodeCommand(),
		tokenizerDecodeCommand(),
		benchCommand(),
		benchTokenizerCommand(),
		dataFetchCommand(),
		dataBuildCommand(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return help(cmds, strings.Join(args[1:], " "), stdout, stderr)
		}
		usage(cmds, stdout)
		return 0
	}
	// Longest match first: "tokenizer train" before "tokenizer".
	var cmd *command
	var rest []string
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			if cmd == nil || len(strings.Fields(cmd.name)) < len(words) {
				cmd, rest = c, args[len(words):]
			}
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "lethe: unknown command %q; run \"lethe help\" for the list\n", strings.Join(args, " "))
		return 2
	}
	fs := flag.NewFlagSet("lethe "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { commandHelp(cmd, stderr) }
	runFn := cmd.flags(fs)
	positional, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	env := &runEnv{stdin: stdin, stdout: stdout, stderr: stderr, args: positional}
	if err := runFn(ctx, env); err != nil {
		fmt.Fprintf(stderr, "lethe %s: %v\n", cmd.name, err)
		if errors.Is(err, checkpoint.ErrInterrupted) {
			return 130 // as a shell reports a process stopped by Ctrl-C
		}
		return 1
	}
	return 0
}

func usage(cmds []*command, w io.Writer) {
	fmt.Fprintln(w, "lethe: plastic RoBERTa language models with active forgetting, on CPU")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: lethe COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	sorted := append([]*command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run \"lethe help COMMAND\" for a command's flags.")
}

func help(cmds []*command, name string, stdout, stderr io.Writer) int {
	for _, c := range cmds {
		if c.name == name {
			commandHelp(c, stdout)
			return 0
		}
	}
	fmt.Fprintf(stderr, "lethe help: unknown command %q\n", name)
	return 2
}

// commandHelp prints a command's usage text followed by every flag it defines.
func commandHelp(c *command, w io.Writer) {
	fs := flag.NewFlagSet("lethe "+c.name, flag.ContinueOnError)
	c.flags(fs)
	fmt.Fprintf(w, "Usage: lethe %s [flags]\n\n%s\n", c.name, strings.TrimSpace(c.usage))
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// parseInterspersed parses flags wherever they appear among the arguments,
// as users type them ("lethe eval --model M test.tsv --out r.json"), and
// returns the other arguments in order; after "--" everything is an
// argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
