// Package allora is the Go side of the allora:adapter@0.1.0 WIT contract (../../wit), written
// by hand for Go's own compiler (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared).
//
// Why hand-written: wit-bindgen-go's output does not compile with Go's compiler ("go:wasmexport:
// unsupported parameter type *[2]string"): GOARCH=wasm has 64-bit pointers, so Go strings and
// slices cannot cross the 32-bit canonical ABI by reference. This package lifts and lowers the
// few WIT types the contract uses through plain i32/i64 parameters and linear-memory reads.
//
// This file owns memory: cabi_realloc and the helpers that read and write canonical-ABI values.
package allora

import (
	"encoding/binary"
	"unsafe"
)

// pinned keeps every block handed to the host (cabi_realloc, return areas, lowered strings)
// reachable so that Go's collector never frees memory the host still reads. Nothing is ever
// released: the node instantiates the component afresh for every call, so the whole heap
// goes away with the instance.
var pinned [][]uint64

// alloc returns the address of n zeroed bytes, 8-byte aligned (enough for every WIT type).
func alloc(n uint32) uint32 {
	block := make([]uint64, (n+15)/8)
	pinned = append(pinned, block)
	return uint32(uintptr(unsafe.Pointer(&block[0])))
}

//go:wasmexport cabi_realloc
func cabiRealloc(oldPtr, oldSize, align, newSize uint32) uint32 {
	p := alloc(newSize)
	if oldPtr != 0 && oldSize > 0 {
		copy(mem(p, min(oldSize, newSize)), mem(oldPtr, min(oldSize, newSize)))
	}
	return p
}

// mem views n bytes of linear memory at ptr.
func mem(ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), n)
}

func loadU32(ptr uint32) uint32 { return binary.LittleEndian.Uint32(mem(ptr, 4)) }

func storeU32(ptr, v uint32) { binary.LittleEndian.PutUint32(mem(ptr, 4), v) }

func storeU8(ptr uint32, v uint8) { mem(ptr, 1)[0] = v }

// liftString copies a (ptr, len) string out of linear memory.
func liftString(ptr, n uint32) string { return string(mem(ptr, n)) }

// lowerBytes copies b into pinned memory and returns its (ptr, len).
func lowerBytes(b []byte) (uint32, uint32) {
	p := alloc(uint32(len(b)))
	copy(mem(p, uint32(len(b))), b)
	return p, uint32(len(b))
}

func lowerString(s string) (uint32, uint32) { return lowerBytes([]byte(s)) }

// liftStringList reads a list<string> (elements are (ptr, len) pairs).
func liftStringList(ptr, n uint32) []string {
	out := make([]string, n)
	for i := range n {
		e := ptr + 8*i
		out[i] = liftString(loadU32(e), loadU32(e+4))
	}
	return out
}

// liftPairs reads a list<tuple<string, string>>.
func liftPairs(ptr, n uint32) [][2]string {
	out := make([][2]string, n)
	for i := range n {
		e := ptr + 16*i
		out[i] = [2]string{liftString(loadU32(e), loadU32(e+4)), liftString(loadU32(e+8), loadU32(e+12))}
	}
	return out
}

// lowerPairs writes a list<tuple<string, string>> (also the layout of labeled-value and
// forecast-value records: two strings).
func lowerPairs(pairs [][2]string) (uint32, uint32) {
	n := uint32(len(pairs))
	base := alloc(16 * n)
	for i, kv := range pairs {
		e := base + 16*uint32(i)
		p, l := lowerString(kv[0])
		storeU32(e, p)
		storeU32(e+4, l)
		p, l = lowerString(kv[1])
		storeU32(e+8, p)
		storeU32(e+12, l)
	}
	return base, n
}

func lowerStringList(items []string) (uint32, uint32) {
	n := uint32(len(items))
	base := alloc(8 * n)
	for i, s := range items {
		p, l := lowerString(s)
		storeU32(base+8*uint32(i), p)
		storeU32(base+8*uint32(i)+4, l)
	}
	return base, n
}

// Return areas of result<T, string> where T lowers to a (ptr, len) pair or a bool:
// byte 0 is the discriminant (0 ok, 1 err), the payload starts at offset 4.

func returnPair(p, l uint32) uint32 {
	ret := alloc(12)
	storeU32(ret+4, p)
	storeU32(ret+8, l)
	return ret
}

func returnErr(err error) uint32 {
	ret := returnPair(lowerString(err.Error()))
	storeU8(ret, 1)
	return ret
}

func returnBool(b bool) uint32 {
	ret := alloc(12)
	if b {
		storeU8(ret+4, 1)
	}
	return ret
}
