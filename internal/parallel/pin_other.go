//go:build !linux

package parallel

type cpuMask struct{}

func threadAffinity() (cpuMask, bool) { return cpuMask{}, false }
func setThreadAffinity(cpuMask) bool  { return false }
func (cpuMask) cpus() []int           { return nil }
func only(int) cpuMask                { return cpuMask{} }

const canPin = false
