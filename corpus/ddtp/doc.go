// Package ddtp builds Lethe's built-in default data from Debian's translated
// package descriptions (DDTP): it downloads the Translation and Packages
// indexes with apt-get update under a private apt configuration, parses their
// RFC 822 stanzas, joins each translated description to its package's
// Section and Source, and writes plain-text corpora split by source package.
//
// # Output
//
// Fetch writes, under its output directory DIR:
//
//	DIR/apt/                      private apt tree: apt.conf, lethe.sources, lists/ (the indexes), cache/, state/
//	DIR/<lang>/train.txt          one document per description, documents separated by blank lines
//	DIR/<lang>/dev.txt
//	DIR/<lang>/test.txt
//	DIR/manifest.json             Manifest: counts and bytes per split, mirrors, release dates, command line
//
// A document is the short description on its first line, then one line per
// paragraph of the long description (verbatim lines, such as list items, on
// lines of their own). No document contains an empty line.
//
// # Splits
//
// The split depends only on the source package's name (SplitOf), so a source
// is held out in every language or in none, and lib/-dev/-doc siblings never
// straddle splits. A text that occurs more than once in a language is written
// once, in the most held-out split it occurs in, so no dev or test text is in
// train.
//
// # Records
//
// LoadIndex and LoadRecords give the joined Records (Package, Source,
// Section, Lang, Short, Long, MD5) from the downloaded indexes without any
// network, for tasks built on the same data (such as topic classification by
// Section, split by Source with SplitOf). The MD5 identifies the English
// original, so the same item can be found in every language.
package ddtp
