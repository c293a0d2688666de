// Package html extracts the text of HTML documentation (the DocBook and
// Publican output of Debian's debian-handbook, debian-reference-*,
// maint-guide-* and installation-guide-* packages) as plain lines.
//
// One file becomes one document. Every block element (p, li, dt, dd, td,
// th, h1-h6, blockquote, div, pre, caption, ...) ends a line, so a paragraph
// or list item becomes one line with its inline markup (a, code, em, span,
// ...) dissolved; <br> ends a line too, and every line of a <pre> is its own
// line. Character references are decoded and whitespace is collapsed.
//
// Dropped, because it is not prose or is repeated on every page: <head>
// (its title repeats the page's first heading), <script>, <style>,
// <noscript>, <template>, <nav>, images, and the navigation boilerplate of
// the DocBook and Publican stylesheets: elements of class navheader,
// navfooter, docnav (previous/next/home bars), toc, list-of-tables,
// list-of-figures, list-of-examples (tables of contents, which repeat the
// headings), the Publican banner (id "banner") and its link-target
// notes (class url, "→ https://..."). Text inside a dropped
// element is dropped with it.
//
// DropUntranslated removes the lines of a translated page that occur
// verbatim in its English original: some handbook locales are mostly
// untranslated English, which must not enter another language's corpus.
package html
