/* widen: F16 and BF16 rows to F32, exactly, as fast as the CPU allows.
 *
 * Both conversions are exact, so every variant gives the bits of the
 * scalar references in dtype.h (qu_f16_to_f32, qu_bf16_to_f32), NaN
 * payloads included (vector lanes holding a NaN are redone by the
 * reference).  Chosen per call from qcpu_level(). */
#ifndef WIDEN_H
#define WIDEN_H

#include <stddef.h>
#include <stdint.h>

void widen_f16(const void *src, float *dst, size_t n);
void widen_bf16(const void *src, float *dst, size_t n);

/* The scalar references, for tests. */
void widen_f16_ref(const void *src, float *dst, size_t n);
void widen_bf16_ref(const void *src, float *dst, size_t n);

#endif
