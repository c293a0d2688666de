// Package sword extracts verse text from SWORD zText Bible modules, the
// format of Debian's sword-text-* packages, and reads their .conf files.
//
// A zText module stores each testament in three files: <t>.bzs, the block
// index (per block three little-endian uint32: offset in <t>.bzz, compressed
// size, uncompressed size); <t>.bzz, the zlib-compressed blocks; and <t>.bzv,
// the verse index (per entry uint32 block number, uint32 offset in the
// uncompressed block, uint16 size). The verse index follows the module's
// versification: a module heading and a testament heading, then for every
// book a book heading followed, for every chapter, by a chapter heading and
// the chapter's verses.
//
// Rather than embedding versification tables (the Debian modules use KJV and
// NRSVA), chapter boundaries are read from the markup itself: in OSIS modules
// the chapter heading entry holds the chapter's start milestone
// (<chapter sID="Gen.2" .../>) and the book heading entry holds the book's
// <div type="book" sID=...>. Each chapter becomes one document, one line per
// verse: a chapter is a natural unit of discourse of a few hundred words,
// while a whole book (up to ~40k words) would exceed the sequence budget of
// any document-level use many times over. Heading entries are dropped (they
// hold titles, not text). A module without chapter milestones (GBF, ThML)
// yields one document per book heading, or per testament.
//
// Markup is stripped: tags are removed and their text kept (<w lemma=...>,
// <transChange>, <divineName>, <q>, ...), while notes (<note>, GBF <RF>..<Rf>)
// and non-canonical titles (section headings added by editors) are removed
// with their content. Canonical titles (Psalm superscriptions) are kept as
// part of the verse. Entities are decoded and whitespace collapsed.
package sword
