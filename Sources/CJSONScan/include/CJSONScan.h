#ifndef CJSONSCAN_H
#define CJSONSCAN_H

#include <stdint.h>

// The JSON parser's string scan, sixteen bytes at a time. Swift's SIMD types compare lane by lane here
// (no vector compare, no movemask), so the scan is written with SSE2 intrinsics. `static inline`: Swift
// imports it into the caller's code, where it inlines like a Swift function.

#if defined(__SSE2__)
#include <emmintrin.h>

/// Bit k is set where byte k of the sixteen at `bytes` is '"', '\\', below 0x20, or above 0x7F: the bytes a
/// string scan must stop at. `bytes` needs no alignment; all sixteen must be readable.
static inline uint32_t cjsonscan_string_stops16(const uint8_t *bytes) {
    __m128i v = _mm_loadu_si128((const __m128i *)bytes);
    __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    // A signed compare: bytes from 0x80 up are negative, so one test finds control characters and non-ASCII.
    __m128i outside = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
    return (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), outside));
}
#endif

#endif
