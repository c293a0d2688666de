package ddtp

import (
	"fmt"
	"math"
	"testing"
)

// TestSplitOfPinned pins the hash: changing SplitOf would silently move
// sources between train and test and invalidate every reported result.
func TestSplitOfPinned(t *testing.T) {
	tests := []struct {
		source string
		shares Shares
		want   Split
	}{
		{"gcc-12", DefaultShares(), Test},     // u = 0.0356
		{"xz-utils", DefaultShares(), Test},   // u = 0.0468
		{"h", DefaultShares(), Test},          // u = 0.1556
		{"libreoffice", DefaultShares(), Dev}, // u = 0.2261
		{"emacs", DefaultShares(), Dev},       // u = 0.2957
		{"0ad", DefaultShares(), Train},       // u = 0.8184
		{"vim", DefaultShares(), Train},       // u = 0.8814
		{"emacs", Shares{Test: 0.3}, Test},    // growing the test share moves it to test
		{"libreoffice", Shares{Test: 0.3, Dev: 0.1}, Test},
		{"gcc-12", Shares{Test: 0, Dev: 0.05}, Dev},
		{"gcc-12", Shares{}, Train},
		{"vim", Shares{Test: 1}, Test},
	}
	for _, tc := range tests {
		if got := SplitOf(tc.source, tc.shares); got != tc.want {
			t.Errorf("SplitOf(%q, %+v) = %v, want %v", tc.source, tc.shares, got, tc.want)
		}
	}
}

func TestSplitOfShares(t *testing.T) {
	const n = 20000
	for _, s := range []Shares{DefaultShares(), {Test: 0.5, Dev: 0.25}, {Test: 0.05, Dev: 0}} {
		var count [NumSplits]int
		for i := 0; i < n; i++ {
			src := fmt.Sprintf("src-%d", i)
			sp := SplitOf(src, s)
			count[sp]++
			// stability: the same name always lands in the same split
			if again := SplitOf(src, s); again != sp {
				t.Fatalf("SplitOf(%q) changed from %v to %v", src, sp, again)
			}
			// monotone: a source held out for test stays held out for a larger test share
			if sp == Test && SplitOf(src, Shares{Test: s.Test + 0.1, Dev: s.Dev}) != Test {
				t.Fatalf("%q left test when the test share grew", src)
			}
		}
		want := [NumSplits]float64{1 - s.Test - s.Dev, s.Dev, s.Test}
		for sp := Split(0); sp < NumSplits; sp++ {
			got := float64(count[sp]) / n
			if math.Abs(got-want[sp]) > 0.015 {
				t.Errorf("shares %+v: %v got %.3f of sources, want %.3f", s, sp, got, want[sp])
			}
		}
	}
}

func TestSharesValidate(t *testing.T) {
	tests := []struct {
		s  Shares
		ok bool
	}{
		{DefaultShares(), true},
		{Shares{}, true},
		{Shares{Test: 1}, true},
		{Shares{Test: 0.6, Dev: 0.4}, true},
		{Shares{Test: 0.7, Dev: 0.3}, true}, // sums to 1 up to rounding
		{Shares{Test: 0.6, Dev: 0.5}, false},
		{Shares{Test: -0.1}, false},
		{Shares{Dev: 1.5}, false},
		{Shares{Test: math.NaN()}, false},
	}
	for _, tc := range tests {
		if err := tc.s.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.s, err, tc.ok)
		}
	}
}

func TestSplitString(t *testing.T) {
	for sp, want := range map[Split]string{Train: "train", Dev: "dev", Test: "test", Split(7): "Split(7)"} {
		if got := sp.String(); got != want {
			t.Errorf("Split(%d).String() = %q, want %q", int(sp), got, want)
		}
	}
}
