package parallel

import (
	"syscall"
	"unsafe"
)

// cpuMask is a Linux CPU set of up to 1024 CPUs.
type cpuMask [16]uint64

// threadAffinity returns the CPU set of the calling thread.
func threadAffinity() (cpuMask, bool) {
	var m cpuMask
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
	return m, e == 0
}

// setThreadAffinity binds the calling thread to the CPUs of m.
func setThreadAffinity(m cpuMask) bool {
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
	return e == 0
}

// cpus lists the CPUs of m in increasing order.
func (m cpuMask) cpus() []int {
	var c []int
	for i := range len(m) * 64 {
		if m[i/64]>>(i%64)&1 == 1 {
			c = append(c, i)
		}
	}
	return c
}

// only returns the set holding just cpu.
func only(cpu int) cpuMask {
	var m cpuMask
	m[cpu/64] = 1 << (cpu % 64)
	return m
}

const canPin = true
