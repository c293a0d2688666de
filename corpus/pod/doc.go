// Package pod extracts the prose of Perl's Plain Old Documentation (the
// .pod files of perl-doc, and the POD sections of Perl source files).
//
// One file becomes one document, one paragraph per line. Ordinary
// paragraphs keep their text with the formatting codes resolved: B<>, I<>,
// C<>, F<> and S<> keep their content; E<gt>, E<lt>, E<eacute>, E<0x263A>
// become the character; L<text|target> keeps the text, L<name> the name and
// L<name/"section"> the section; X<> (index entries) and Z<> vanish. The
// doubled forms (C<< $a <=> $b >>) are understood. Headings (=head1 to
// =head6) and the labels of =item entries are kept as lines of their own,
// since in POD they are often prose (perlfaq's headings are its questions,
// perldiag's items are its messages); bullets and numbers are dropped.
//
// Dropped: verbatim paragraphs (indented: code examples), the content of
// =begin/=end regions and =for paragraphs (text for other formatters),
// everything outside POD (before the first command, and after =cut until
// the next command), =over/=back/=encoding/=pod lines, and headings written
// entirely in capitals (NAME, DESCRIPTION, SEE ALSO, AUTHOR): the fixed
// section names of manual pages, repeated in every file.
package pod
