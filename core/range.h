/*
 * range.h - the HTTP Range header of a GET the master answers itself (values
 * on local volumes), per RFC 9110 section 14: one byte range, or the whole value.
 */
#ifndef MKV_RANGE_H
#define MKV_RANGE_H

#include <stdint.h>

enum mkv_range {
	MKV_RANGE_WHOLE,         /* no Range, or one mkv ignores: answer 200 */
	MKV_RANGE_PARTIAL,       /* answer 206 with *offset and *length */
	MKV_RANGE_UNSATISFIABLE, /* answer 416 */
};

/*
 * mkv_range_parse - what to send of a value of size bytes for the Range
 * header value header (NULL when absent). "bytes=A-B", "bytes=A-" and
 * "bytes=-N" are honoured; a malformed header, another unit or several
 * ranges are ignored (the whole value is sent), as RFC 9110 allows.
 */
enum mkv_range mkv_range_parse(const char *header, uint64_t size,
			       uint64_t *offset, uint64_t *length);

#endif
