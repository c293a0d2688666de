// Package fortune extracts documents from fortune(6) data files: fortunes
// separated by lines holding a single '%'.
//
// Each fortune becomes one document. Its lines are re-flowed: consecutive
// non-blank lines join into one paragraph (fortune files wrap prose at about
// 70 columns, so a source line is rarely a unit of meaning) and a blank line
// starts the next paragraph. Whitespace is collapsed.
//
// Attribution lines ("-- Mark Twain", usually indented) are dropped together
// with the indented lines that continue them: they are lists of names and
// book titles repeated thousands of times across a collection, which would
// teach a language model a formula rather than the language.
//
// Text must be UTF-8. Some fortune packages still ship Latin-1 files; those
// are rejected with a *corpus.FormatError wrapping corpus.ErrInvalidUTF8, so a
// caller can detect and skip them with errors.Is.
package fortune
