// Package debian builds Lethe's multilingual data from Debian: one plain-text
// corpus per language, the package topic classification task and its
// sentence-pair variant, a manifest and a data card ("lethe data build").
//
// # Pipeline
//
//  1. Indexes: apt-get update under a private configuration in DIR/apt
//     (ddtp.EnsureIndexes) fetches the Packages indexes and the DDTP
//     Translation-<lang> files. Without apt-get, or when this first download
//     fails (offline), Build returns an *UnavailableError telling the user
//     how to bring their own corpus and task files, and removes what it
//     created.
//
//  2. Packages: PackagesFor lists the packages of the languages (man pages,
//     HTML documentation, RST/POD prose, SWORD Bibles, fortunes; one table
//     maps Debian's package suffixes to DDTP codes). apt-get download
//     --print-uris gives each candidate's version and file; missing .debs
//     are downloaded with apt-get download into DIR/apt/debs/.partial,
//     checked against the index's SHA-256 and moved into DIR/apt/debs.
//
//  3. Extraction: each .deb is unpacked with dpkg-deb -x into a temporary
//     directory of DIR (removed afterwards) and its files are read by the
//     Extractors (roff, HTML, RST, POD, zText, fortune), the language of
//     each file coming from its path (usr/share/man/de/, html/de-DE/,
//     ch01.de.html) or the package. In multilingual packages, lines of a
//     translated page identical to the English page are dropped. The result
//     is cached in DIR/extracted/<package>_<version>.txt, so a rerun skips
//     finished packages.
//
//  4. DDTP records: the Translation files joined to Section and Source.
//
//  5. Assemble writes, under DIR:
//
//     corpora/<lang>.txt        DDTP train-split descriptions, then each package's documents (by package, then path);
//     UTF-8, one paragraph per line, documents separated by one blank line
//     topic/en/{train,dev,test}.tsv     label<TAB>text (text = short + " " + long description, one line, no tabs)
//     topic/<lang>/test.tsv             other languages: test only, from the held-out test sources
//     topic/<lang>/test.en.tsv          the English descriptions of the same packages, same order
//     pair/en/{train,dev,test}.tsv      XNLI-style TSV with header: language gold_label sentence1 sentence2 pairID
//     pair/<lang>/test.tsv, test.en.tsv
//     manifest.json             Manifest: per file documents, characters, words, bytes, SHA-256, source packages
//     DATACARD.md               sources, licences as the packages state them, tasks, held-out policy
//
// # Held-out text
//
// Sources are split by ddtp.SplitOf (a hash of the source package name), the
// same in every language. DDTP descriptions of dev and test sources never
// enter a corpus. In addition, any corpus document (DDTP or package text) is
// dropped when, normalised (lower case, white space collapsed), it equals a
// dev or test description of any language, or contains such a description
// or one of its paragraphs of at least MinMatch bytes (HeldOut). At the end
// of every build, FindItems searches the written corpora for every dev and
// test task text; the build fails unless none is found, and the manifest
// records the count.
//
// # Determinism and resumption
//
// Every file is written to a temporary name and renamed, the manifest last.
// Output order never depends on map order, and the manifest holds no time
// stamps, so two builds from the same package versions are byte-identical.
// A build whose manifest has the same inputs (index fingerprint, languages,
// shares, formats) and whose files all match their sizes and SHA-256 is not
// redone.
package debian
