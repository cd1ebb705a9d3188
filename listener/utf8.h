/* utf8.h — lossless storage of byte strings (argv, paths, comm, …) in BSON, whose strings
 * must be valid UTF-8.
 *
 * The scheme (the field names are part of the document contract, DESIGN.md data model):
 *   - the field itself is always a valid UTF-8 string: the original bytes when they are valid
 *     UTF-8 without NUL, else a copy in which every byte that does not start or belong to a
 *     well-formed sequence (and every NUL byte) is replaced by U+FFFD (EF BF BD), one U+FFFD
 *     per offending byte; well-formed sequences around them are kept;
 *   - only when a replacement happened, a sibling "<field>_hex" holds the exact original
 *     bytes as upper-case hex (two digits per byte, the audit subsystem's own encoding);
 *   - for an array field (argv), the items follow the same rule and the sibling
 *     "<field>_hex" is a document from item index (decimal string, as the array key) to the
 *     hex of that item, present only when at least one item was replaced.
 * Readers that need exact bytes take <field>_hex when present, else the field itself.
 * "Well-formed" is RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF.
 *
 * Pure: no I/O, no logging. The append functions never take ownership of their inputs. */
#ifndef LINEAGE_UTF8_H
#define LINEAGE_UTF8_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

#define UTF8_HEX_SUFFIX "_hex"
#define UTF8_KEY_MAX 127 /* longest field name accepted (the "_hex" sibling must fit too) */

/* Length of the well-formed UTF-8 sequence starting at s[0] (1..4), or 0 when s[0..len) does
 * not start with one (NUL counts as not well-formed here). len must be > 0. */
size_t utf8_seq_len(const char *s, size_t len);

/* true when s[0..len) is well-formed UTF-8 without NUL bytes. */
bool utf8_valid(const char *s, size_t len);

/* The repaired copy of s[0..len) (see above), NUL-terminated. Returns the number of bytes
 * replaced (0: s was valid; *ret and *ret_len are then not written), or -ENOMEM. On a positive
 * return *ret is owned by the caller (free()) and *ret_len is its length without the NUL. */
int utf8_repair(const char *s, size_t len, char **ret, size_t *ret_len);

/* Upper-case hex of s[0..len) into ret, which must hold 2 * len + 1 bytes; NUL-terminated. */
void utf8_hex(const char *s, size_t len, char *ret);

/* Append key = s[0..len) to doc under the scheme, and key_hex when s was not valid.
 * Returns 0, -ENOMEM, -ENAMETOOLONG (key longer than UTF8_KEY_MAX) or -EMSGSIZE (libbson
 * refused: the document is full). doc stays owned by the caller. */
int utf8_append(bson_t *doc, const char *key, const char *s, size_t len);

/* Append the array key = [v[0], …, v[n-1]] and, when some item was not valid, the document
 * key_hex = {"<i>": hex of v[i], …}. lens may be NULL (then every v[i] is NUL-terminated and
 * its strlen is used). Same returns as utf8_append. */
int utf8_append_array(bson_t *doc, const char *key, const char *const *v, const size_t *lens,
		      size_t n);

#endif
