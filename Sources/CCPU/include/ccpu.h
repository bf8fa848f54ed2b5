/* CPU identification (cpuid, xgetbv) and OpenBLAS core selection for SER.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef SER_CCPU_H
#define SER_CCPU_H

/// What the processor can do and the operating system has enabled.
typedef struct {
    /// cpuid vendor string, e.g. "GenuineIntel", NUL-terminated.
    char vendor[13];
    /// Brand string (leaves 0x80000002-4), trimmed; empty when the processor has none.
    char brand[49];
    /// Display family and model (extended fields folded in, as Intel's and AMD's manuals define them).
    int family;
    int model;
    /// 1 when the instructions exist *and* the OS saves their registers (XCR0).
    int avx;
    int avx2;
    int fma;
    /// AVX-512 Foundation, CD, BW, DQ and VL together, with opmask and ZMM state enabled.
    int avx512;
} ser_cpu_info;

/// Fills `info` (zeros on processors that are not x86-64). Returns 1 on x86-64, 0 elsewhere.
int ser_cpu_identify(ser_cpu_info *info);

/// OpenBLAS's current core name ("Prescott", "Haswell", ...), or NULL when the loaded
/// BLAS is not OpenBLAS.
const char *ser_openblas_corename(void);

/// Re-runs OpenBLAS's DYNAMIC_ARCH selection with `OPENBLAS_CORETYPE=name`, then restores the
/// environment variable as it was. Returns 1 when the running library supports run-time
/// selection (a DYNAMIC_ARCH build), 0 otherwise (nothing changed).
/// Call it before any BLAS work is in flight: it swaps the kernel table under all threads.
int ser_openblas_select_core(const char *name);

#endif
