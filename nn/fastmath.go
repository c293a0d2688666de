package nn

import "unsafe"

// as32 reinterprets x as []float32 when T is 4 bytes wide (float32 or a type
// defined on it), so that generic ops can hand their float32 instantiation to
// a hand-written float32 kernel. ok is false for float64.
func as32[T Float](x []T) (y []float32, ok bool) {
	var z T
	if unsafe.Sizeof(z) != 4 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x)), true
}

// is32 reports whether T is 4 bytes wide.
func is32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}
