// Package rst extracts the prose of reStructuredText documents: the Sphinx
// sources shipped as _sources/*.txt (python3-doc) and the kernel's .rst files
// (linux-doc).
//
// One file becomes one document, one paragraph (or list item, section
// title, definition term) per line, with the inline markup removed: inline
// literals (double backquotes) and *emphasis* keep their text, roles keep
// their title (:func:`len` -> len, :ref:`the guide <label>` -> the guide,
// :meth:`~a.b` -> b, :rfc:`7159` -> RFC 7159), hyperlinks keep their text
// (`Python <https://python.org>`_ -> Python, name_ -> name), footnote and
// citation references ([1]_) vanish, and backslash escapes are resolved.
//
// Dropped, because they are code, data or machinery rather than prose:
// literal blocks (the indented block after a paragraph ending in "::"),
// doctest blocks (">>>"), comments, hyperlink targets and substitution
// definitions; grid and simple tables; section adornment and transition
// lines; directive options; and the directives that hold code, tables,
// images, math, indexes or tables of contents (code-block, literalinclude,
// toctree, list-table, image, math, index, kernel-doc, ...) with their
// content. Other directives keep their content: the prose of admonitions
// (note, warning, seealso), of version notes and of Sphinx object
// descriptions (function, class, method, c:function, ...), whose signature
// argument is dropped; an admonition's argument is prose and is kept.
package rst
