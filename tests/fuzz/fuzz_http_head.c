/*
 * tests/fuzz/fuzz_http_head.c - libFuzzer target for the request head
 * scanner of http/op_http_head.c.
 *
 * Each input is fed as one piece and again a byte at a time, as a head
 * can arrive in any pieces: both scans must end in the same state. Where
 * the byte-at-a-time scan first reports the head complete without a
 * violation, the bytes up to there must be a head RFC 9112 allows: CRLF
 * line ends only, no NUL or control other than HTAB, no line starting
 * with whitespace, ending in the empty line. Any broken rule aborts.
 *
 *   make build/fuzz/fuzz_http_head
 *   build/fuzz/fuzz_http_head CORPUS_COPY     (seeds: tests/fuzz/corpus/http_head)
 */
#include <stdlib.h>
#include <string.h>

#include "http/op_http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data[0..end) is a complete head without a violation. */
static void fuzz_http_head_check_clean(const uint8_t *data, size_t end)
{
    if (end < 4 || memcmp(data + end - 4, "\r\n\r\n", 4) != 0)
        abort();
    for (size_t i = 0; i < end; i++) {
        uint8_t c = data[i];

        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
            abort();
        if (c == '\n' && (i == 0 || data[i - 1] != '\r'))
            abort();
        if (c == '\r' && (i + 1 >= end || data[i + 1] != '\n'))
            abort();
        if (i > 0 && data[i - 1] == '\n' && (c == ' ' || c == '\t'))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    op_http_head_t whole, split;
    size_t end = 0;

    op_http_head_reset(&whole);
    op_http_head_reset(&split);
    op_http_head_feed(&whole, data, size);
    for (size_t i = 0; i < size; i++) {
        op_http_head_feed(&split, data + i, 1);
        if (end == 0 && op_http_head_done(&split))
            end = i + 1;
    }
    if (whole.state != split.state || whole.cr != split.cr || whole.seen != split.seen ||
        whole.minor != split.minor || whole.n != split.n || whole.nfields != split.nfields ||
        whole.bad != split.bad || op_http_head_done(&whole) != (end > 0))
        abort();
    if (end > 0 && whole.bad == NULL)
        fuzz_http_head_check_clean(data, end);
    return 0;
}
