//go:build race

package tokenizer

// raceEnabled is true under the race detector, which makes sync.Pool drop
// items at random (so allocation counts are meaningless).
const raceEnabled = true
