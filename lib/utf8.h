/* utf8.h - UTF-8: one character decoded, validity, cutting and scrubbing (a leaf: it
 * calls nothing of the project, so logging and everything else may use it) */
#ifndef RTN_UTF8_H
#define RTN_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length (1..4) of the valid UTF-8 character at p, of the n >= 1 bytes there, with
 * its code point in *cp; 0 if it is not one (overlong, a surrogate, past U+10FFFF, cut). */
size_t rtn_utf8_char(const unsigned char *p, size_t n, uint32_t *cp);
/* True if s[0..len) is valid UTF-8 without NUL bytes. */
bool rtn_valid_utf8(const char *s, size_t len);
/* The bytes of the longest valid UTF-8 prefix of s of at most max bytes, for "%.*s":
 * a name quoted in a message is cut between characters, never inside one. */
int rtn_utf8_clip(const char *s, size_t max);
/* Drop from s every byte that is no part of a valid UTF-8 character, in place (a message
 * that quotes input, perhaps cut short, goes into JSON); returns the new length. */
size_t rtn_utf8_scrub(char *s);

#endif
