// Package benchmark measures Lethe's training throughput and memory beside
// PyTorch's on the same model and batch, and beside the bound set by the
// step's matrix products alone: the figures "lethe bench" prints.
package benchmark
