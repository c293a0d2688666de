// Package roff extracts the prose of man pages by interpreting their roff
// source with the man macros directly (no groff needed).
//
// One man page (one .TH) becomes one document; each paragraph becomes one
// line. Paragraphs end at .PP/.LP/.P/.IP/.TP/.HP/.SH/.SS, at .br/.sp/.in/
// .RS/.RE and at blank lines; in no-fill mode (.nf ... .fi) every input line
// is its own line.
//
// What is kept: running text with its font changes removed (\fB, \fI,
// \f(BI, \f[B], .B, .I, .BR, .IR and the other alternating-font macros, whose
// arguments are joined the way groff joins them); special characters
// (\(em, \[lq], \(co, \[u00E9], \('e, ...) as Unicode; strings defined with
// .ds or predefined by the man macros and pod2man (\*(lq, \*(R", \*(Aq);
// tags of .IP and .TP items that contain words, each on its own line.
//
// What is dropped, and why:
//   - section and subsection headings (.SH, .SS): in man pages they are a
//     small fixed vocabulary (NAME, SYNOPSIS, DESCRIPTION, OPTIONS, ...)
//     repeated in every page, which would drown the corpus in boilerplate;
//   - tags that are command-line options ("-a, --all") or bullets/numbers:
//     they are syntax, identical in every language;
//   - code examples (.EX/.EE), tables (.TS/.TE), equations (.EQ/.EN), pictures
//     (.PS/.PE): not prose, and tables lose their meaning as flat text;
//   - the title line (.TH), comments, macro definitions (.de/.am ... ..) and
//     ignored blocks (.ig), and every request that only affects layout;
//   - conditional input whose condition is false, interpreting nroff (n is
//     true, t is false) as groff (\n(.g is 1) would.
//
// A page that is only a link to another (.so before any text) yields no
// document. Input must be UTF-8 (Debian's translated pages are); invalid
// input is an error (a *corpus.FormatError wrapping corpus.ErrInvalidUTF8)
// naming the file, line and byte offset. Decompression is the caller's job.
package roff
