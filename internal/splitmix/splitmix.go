// Package splitmix is SplitMix64 (Steele, Lea and Flood 2014), the one
// source of seeded randomness in Lethe's training: the bijective 64-bit
// mixer, the generator built on it, and the seed derivations, so that a
// seed gives the same numbers on every machine and a resumed run redraws
// exactly what it drew before. It never allocates.
package splitmix

import (
	"math"
	"math/bits"
)

// Golden is SplitMix64's increment, 2**64 divided by the golden ratio.
const Golden = 0x9E3779B97F4A7C15

// Mix is SplitMix64's output function, a bijection of uint64 with good
// avalanche (a flipped input bit flips each output bit with probability
// about 1/2).
func Mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Step is the z-th output of the generator seeded with 0, offset by seed:
// Mix(seed + Golden). It hashes one 64-bit value.
func Step(z uint64) uint64 { return Mix(z + Golden) }

// Stream derives an independent seed for stream number stream from seed.
func Stream(seed, stream uint64) uint64 {
	return Mix(Mix(seed+Golden) ^ (stream * 0xD1B54A32D192ED03))
}

// UpdateSeed is the seed of update u of a run seeded seed: a function of
// the two only, so a resumed run draws what the uninterrupted run would.
func UpdateSeed(seed, u uint64) uint64 { return Mix(seed*Golden + u) }

// Rand is the SplitMix64 generator: a value type whose whole state is S.
type Rand struct{ S uint64 }

// Next returns the next 64 random bits.
func (r *Rand) Next() uint64 {
	r.S += Golden
	return Mix(r.S)
}

// Float64 returns a uniform number in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.Next()>>11) / (1 << 53) }

// Open01 returns a uniform number in (0, 1), never 0 (for logarithms).
func (r *Rand) Open01() float64 { return (float64(r.Next()>>11) + 0.5) * (1.0 / (1 << 53)) }

// Intn returns a uniform integer in [0, n), n > 0, without modulo bias
// (Lemire's multiply-and-reject).
func (r *Rand) Intn(n uint64) uint64 {
	hi, lo := bits.Mul64(r.Next(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.Next(), n)
		}
	}
	return hi
}

// Normal returns a standard normal deviate (Box-Muller, one value per pair
// of uniforms, so the stream has no state besides S).
func (r *Rand) Normal() float64 {
	u1, u2 := r.Open01(), r.Open01()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}
