package pod

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"lethe/corpus"
)

func TestPODFixture(t *testing.T) {
	f, err := os.Open("testdata/sample.pod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := POD(f, "testdata/sample.pod")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{
		"perlsample - A sample POD file",
		"Why use $a <=> $b?",
		"It compares numbers; see Equality Operators and the manual, or https://perl.org. It costs 5€, <not> ☺ caf é.",
		"First bullet.",
		"Second, numbered.",
		"--verbose",
		"Be verbose.",
		"Back in POD with /etc/passwd and nested bold italic text, and an unterminated code",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got[0], "\n"), strings.Join(want[0], "\n"))
	}
}

func TestPOD(t *testing.T) {
	tests := []struct {
		name, in string
		want     [][]string
	}{
		{"empty", "", nil},
		{"no POD", "print 1;\n", nil},
		{"caps heading dropped", "=head1 SEE ALSO\n\nText.\n", [][]string{{"Text."}}},
		{"heading kept", "=head2 How do I sort?\n", [][]string{{"How do I sort?"}}},
		{"tab after command", "=head2\tTabbed\n", [][]string{{"Tabbed"}}},
		{"item on following line", "=item\nlabel text\n\n", [][]string{{"label text"}}},
		{"item number only", "=item 1\n\nOne.\n", [][]string{{"One."}}},
		{"triple brackets", "=pod\n\nC<<< a >> b >>> end\n", [][]string{{"a >> b end"}}},
		{"link forms", "=pod\n\nL<Foo::Bar> L</Section> L<name/sec> L<text|http://x>\n", [][]string{{"Foo::Bar Section sec text"}}},
		{"escapes", "=pod\n\nE<verbar>E<sol>E<233>E<0351>E<unknown>.\n", [][]string{{"|/éé."}}},
		{"nested begin", "=begin a\n\n=begin b\n\nx\n\n=end b\n\ny\n\n=end a\n\n=pod\n\nz\n", [][]string{{"z"}}},
		{"CRLF and tabs", "=pod\r\n\r\nOne\r\ntwo.\r\n\r\n\tverbatim\r\n", [][]string{{"One two."}}},
		{"whitespace-only line separates", "=pod\n\na\n  \nb\n", [][]string{{"a", "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := POD(strings.NewReader(tt.in), "x.pod")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPODInvalidUTF8(t *testing.T) {
	_, err := POD(strings.NewReader("=pod\n\ncaf\xe9\n"), "latin1.pod")
	var fe *corpus.FormatError
	if !errors.As(err, &fe) || !errors.Is(err, corpus.ErrInvalidUTF8) {
		t.Fatalf("err = %v, want a *corpus.FormatError wrapping ErrInvalidUTF8", err)
	}
	if fe.File != "latin1.pod" || fe.Line != 3 || fe.Offset != 9 {
		t.Errorf("got %s line %d offset %d, want latin1.pod line 3 offset 9", fe.File, fe.Line, fe.Offset)
	}
}
