package tokenizer

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// A precompiled charsmap, as SentencePiece stores it in
// NormalizerSpec.precompiled_charsmap, is
//
//	uint32 little-endian  T = size in bytes of the double array
//	T bytes               darts-clone double array (uint32 little-endian units)
//	rest                  NUL-terminated replacement strings
//
// The double array maps UTF-8 source strings to the byte offset of their
// replacement in the rest. Normalisation replaces, at each position, the
// longest source string found there.
//
// A darts-clone unit is 32 bits:
//
//	bit 31     set in a leaf unit, whose bits 0-30 are the value
//	bits 0-7   label (the byte on the edge into this node)
//	bit 8      has_leaf: the node ends a key; its value sits at its base
//	bit 9      offset is stored shifted (offset = bits 10-31 << 8)
//	bits 10-31 offset (XOR distance from this node to its children's base)
//
// A child with label c of the node at position p is at p ^ offset(p) ^ c; the
// leaf of the node is at p ^ offset(p) (label 0).

// doubleArray is a darts-clone double array.
type doubleArray []uint32

func unitHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func unitValue(u uint32) int32   { return int32(u & (1<<31 - 1)) }
func unitLabel(u uint32) uint32  { return u & (1<<31 | 0xff) }
func unitOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// longestPrefix returns the value and length of the longest key that is a
// prefix of s, or length 0 when none is. It follows darts-clone's
// commonPrefixSearch exactly, so that it reads SentencePiece's arrays as
// SentencePiece does.
func (a doubleArray) longestPrefix(s string) (value int32, length int) {
	if len(a) == 0 {
		return 0, 0
	}
	pos := unitOffset(a[0])
	for i := 0; i < len(s); i++ {
		c := uint32(s[i])
		pos ^= c
		if int(pos) >= len(a) {
			return value, length
		}
		u := a[pos]
		if unitLabel(u) != c {
			return value, length
		}
		pos ^= unitOffset(u)
		if unitHasLeaf(u) {
			if int(pos) >= len(a) {
				return value, length
			}
			value, length = unitValue(a[pos]), i+1
		}
	}
	return value, length
}

// firstByte reports whether the one-byte key c is in the array (exact),
// whether some key starts with c followed by an ASCII byte (asciiNext) and
// whether any key starts with c (any).
func (a doubleArray) firstByte(c byte) (exact, asciiNext, any bool) {
	if len(a) == 0 {
		return false, false, false
	}
	pos := unitOffset(a[0]) ^ uint32(c)
	if int(pos) >= len(a) || unitLabel(a[pos]) != uint32(c) {
		return false, false, false
	}
	u := a[pos]
	exact = unitHasLeaf(u)
	base := pos ^ unitOffset(u)
	for d := uint32(1); d < 0x80; d++ {
		if p := base ^ d; int(p) < len(a) && unitLabel(a[p]) == d {
			asciiNext = true
			break
		}
	}
	return exact, asciiNext, true
}

// daKey is one key of a double array under construction.
type daKey struct {
	key   string
	value int32
}

// buildDoubleArray builds a darts-clone double array holding keys (distinct,
// non-empty, without NUL bytes) with values in [0, 2^31).
//
// With merge set, identical subtrees share their units (a DAWG, as
// darts-clone builds them): much smaller arrays for tables with many equal
// values, such as charsmaps. Without it the build is faster; used for the
// vocabulary, whose values are all distinct.
func buildDoubleArray(keys []daKey, merge bool) (doubleArray, error) {
	keys = append([]daKey(nil), keys...)
	sort.Slice(keys, func(i, j int) bool { return keys[i].key < keys[j].key })
	for i, k := range keys {
		if k.key == "" {
			return nil, fmt.Errorf("double array: key %d is empty", i)
		}
		if i > 0 && keys[i-1].key == k.key {
			return nil, fmt.Errorf("double array: key %q appears twice", k.key)
		}
		if k.value < 0 {
			return nil, fmt.Errorf("double array: key %q has negative value %d", k.key, k.value)
		}
		for j := 0; j < len(k.key); j++ {
			if k.key[j] == 0 {
				return nil, fmt.Errorf("double array: key %q holds a NUL byte at %d", k.key, j)
			}
		}
	}
	var seen map[string]*daNode
	if merge {
		seen = map[string]*daNode{}
	}
	root := internDAWG(keys, 0, seen)
	b := &daBuilder{}
	b.grow(256)
	b.markUsed(0)
	if err := b.place(0, root); err != nil {
		return nil, err
	}
	// Trim the unused tail; keep at least 256 units as darts-clone does.
	n := len(b.units)
	for n > 256 && !b.used[n-1] {
		n--
	}
	return doubleArray(b.units[:n]), nil
}

// daNode is a node of the key trie, with identical subtrees merged (a
// DAWG), so that they share one set of child units in the array, as
// darts-clone does.
type daNode struct {
	leaf     int32 // value of the key ending here, or -1
	labels   []byte
	children []*daNode
	id       int
	base     uint32 // position of the children's base once placed; 0: not yet
}

// internDAWG builds the node for keys (sorted, sharing their first depth
// bytes), reusing an identical node from seen (when seen is not nil).
func internDAWG(keys []daKey, depth int, seen map[string]*daNode) *daNode {
	n := &daNode{leaf: -1}
	for i := 0; i < len(keys); {
		if len(keys[i].key) == depth {
			n.leaf = keys[i].value
			i++
			continue
		}
		c := keys[i].key[depth]
		j := i
		for j < len(keys) && len(keys[j].key) > depth && keys[j].key[depth] == c {
			j++
		}
		n.labels = append(n.labels, c)
		n.children = append(n.children, internDAWG(keys[i:j], depth+1, seen))
		i = j
	}
	if seen == nil {
		return n
	}
	sig := make([]byte, 0, 8+6*len(n.labels))
	sig = binary.LittleEndian.AppendUint32(sig, uint32(n.leaf))
	for i, c := range n.labels {
		sig = append(sig, c)
		sig = binary.LittleEndian.AppendUint32(sig, uint32(n.children[i].id))
	}
	if old, ok := seen[string(sig)]; ok {
		return old
	}
	n.id = len(seen)
	seen[string(sig)] = n
	return n
}

type daBuilder struct {
	units    []uint32
	used     []bool  // position holds a unit
	baseUsed []bool  // position is the base of some node
	next     []int32 // union-find: next[i] leads to the first free position >= i
}

const daMaxUnits = 1 << 21 // offsets below 2^21 need no shift

func (b *daBuilder) grow(n int) {
	for len(b.units) < n {
		b.units = append(b.units, make([]uint32, 256)...)
		b.used = append(b.used, make([]bool, 256)...)
		b.baseUsed = append(b.baseUsed, make([]bool, 256)...)
		for i := len(b.next); i < len(b.units); i++ {
			b.next = append(b.next, int32(i))
		}
	}
}

// markUsed records that position p holds a unit.
func (b *daBuilder) markUsed(p uint32) {
	b.grow(int(p) + 2)
	b.used[p] = true
	b.next[p] = int32(p) + 1
}

// findFree returns the first free position >= i.
func (b *daBuilder) findFree(i int) int {
	b.grow(i + 1)
	root := i
	for int(b.next[root]) != root {
		root = int(b.next[root])
		b.grow(root + 1)
	}
	for i != root { // path compression
		nx := int(b.next[i])
		b.next[i] = int32(root)
		i = nx
	}
	return root
}

// place sets the unit at pos (already labelled by its parent) to point at
// the children of node, laying them out first if no identical node has been.
func (b *daBuilder) place(pos uint32, node *daNode) error {
	if node.leaf >= 0 {
		b.units[pos] |= 1 << 8
	}
	if node.base != 0 {
		b.units[pos] = b.units[pos]&(1<<31|1<<8|0xff) | (pos^node.base)<<10
		return nil
	}
	// Find a base: unused as a base, every child slot free, and the base slot
	// itself free (it becomes the leaf, or a blocker, so that a NUL byte never
	// matches an empty unit).
	var base uint32
	for cand := b.findFree(1); ; cand = b.findFree(cand + 1) {
		if cand >= daMaxUnits {
			return fmt.Errorf("double array: more than %d units", daMaxUnits)
		}
		b.grow(cand + 256)
		base = uint32(cand)
		if len(node.labels) > 0 {
			base = uint32(cand) ^ uint32(node.labels[0])
		}
		if b.baseUsed[base] || b.used[base] || base == 0 {
			continue
		}
		ok := true
		for _, l := range node.labels {
			if b.used[base^uint32(l)] {
				ok = false
				break
			}
		}
		if ok {
			break
		}
	}
	node.base = base
	b.baseUsed[base] = true
	b.units[pos] = b.units[pos]&(1<<31|1<<8|0xff) | (pos^base)<<10
	b.markUsed(base)
	if node.leaf >= 0 {
		b.units[base] = uint32(node.leaf) | 1<<31
	} else {
		b.units[base] = 1 << 31 // blocker: a leaf nobody points at
	}
	for _, l := range node.labels {
		b.markUsed(base ^ uint32(l))
		b.units[base^uint32(l)] = uint32(l)
	}
	for i, l := range node.labels {
		if err := b.place(base^uint32(l), node.children[i]); err != nil {
			return err
		}
	}
	return nil
}

// Charsmap is a decoded precompiled charsmap: a source-string to
// replacement mapping applied by longest match.
type Charsmap struct {
	trie       doubleArray
	normalized []byte // NUL-terminated replacements
}

// ParseCharsmap decodes a precompiled charsmap. An empty blob is the
// identity mapping.
func ParseCharsmap(blob []byte) (*Charsmap, error) {
	if len(blob) == 0 {
		return &Charsmap{}, nil
	}
	if len(blob) < 4 {
		return nil, fmt.Errorf("charsmap: %d bytes: expected at least 4 (the double array size)", len(blob))
	}
	n := binary.LittleEndian.Uint32(blob)
	if uint64(n)+4 >= uint64(len(blob)) {
		return nil, fmt.Errorf("charsmap: double array of %d bytes at byte 4 runs past the end of the %d-byte blob", n, len(blob))
	}
	if n%4 != 0 {
		return nil, fmt.Errorf("charsmap: double array size %d at byte 0: expected a multiple of 4", n)
	}
	trie := make(doubleArray, n/4)
	for i := range trie {
		trie[i] = binary.LittleEndian.Uint32(blob[4+4*i:])
	}
	return &Charsmap{trie: trie, normalized: blob[4+n:]}, nil
}

// lookup returns the replacement of the longest source string at the start
// of s and its length, or ok=false when none matches.
func (c *Charsmap) lookup(s string) (repl []byte, n int, ok bool) {
	v, n := c.trie.longestPrefix(s)
	if n == 0 {
		return nil, 0, false
	}
	if int(v) >= len(c.normalized) {
		return nil, n, true // corrupt value: treat as deletion
	}
	r := c.normalized[v:]
	end := 0
	for end < len(r) && r[end] != 0 {
		end++
	}
	return r[:end], n, true
}

// Entries returns every (source, replacement) pair of the mapping. It walks
// the whole double array; used by tests and tools.
func (c *Charsmap) Entries() map[string]string {
	out := map[string]string{}
	if len(c.trie) == 0 {
		return out
	}
	var walk func(pos uint32, prefix []byte)
	walk = func(pos uint32, prefix []byte) {
		base := pos ^ unitOffset(c.trie[pos])
		for l := uint32(1); l < 256; l++ {
			p := base ^ l
			if int(p) >= len(c.trie) || unitLabel(c.trie[p]) != l {
				continue
			}
			key := append(append([]byte(nil), prefix...), byte(l))
			u := c.trie[p]
			if unitHasLeaf(u) {
				lp := p ^ unitOffset(u)
				if int(lp) < len(c.trie) {
					v := unitValue(c.trie[lp])
					r := c.normalized[min(int(v), len(c.normalized)):]
					end := 0
					for end < len(r) && r[end] != 0 {
						end++
					}
					out[string(key)] = string(r[:end])
				}
			}
			walk(p, key)
		}
	}
	walk(0, nil)
	return out
}

// CompileCharsmap builds a precompiled charsmap (the format above) from a
// source-to-replacement mapping. Sources must be non-empty and free of NUL
// bytes; replacements must be free of NUL bytes (an empty replacement
// deletes the source). An empty mapping compiles to an empty blob.
func CompileCharsmap(m map[string]string) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	srcs := make([]string, 0, len(m))
	for k := range m {
		srcs = append(srcs, k)
	}
	sort.Strings(srcs)
	var blob []byte
	offsets := map[string]int32{}
	keys := make([]daKey, 0, len(m))
	for _, k := range srcs {
		r := m[k]
		for j := 0; j < len(r); j++ {
			if r[j] == 0 {
				return nil, fmt.Errorf("charsmap: replacement of %q holds a NUL byte at %d", k, j)
			}
		}
		off, ok := offsets[r]
		if !ok {
			off = int32(len(blob))
			offsets[r] = off
			blob = append(append(blob, r...), 0)
		}
		keys = append(keys, daKey{key: k, value: off})
	}
	da, err := buildDoubleArray(keys, true)
	if err != nil {
		return nil, fmt.Errorf("charsmap: %w", err)
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(4*len(da)))
	for _, u := range da {
		out = binary.LittleEndian.AppendUint32(out, u)
	}
	return append(out, blob...), nil
}
